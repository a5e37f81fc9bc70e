// A load of numbered requests over kept-alive connections, each carrying a
// token of its own that the backend echoes: every answer is sorted as right
// (200 and its own token), a gateway error (502/503/504, RFC 9110 §15.6), wrong
// (any other status, or somebody else's body), cut (the connection closed or
// reset before a complete answer) or hung (no answer within the bound).

import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";

export interface TokenLoadOptions {
  port: number;
  total: number;
  /** Requests under way at once, each on a kept-alive connection of its own. */
  concurrency: number;
  /** The path of request `index`, carrying `token` (e.g. as a query). */
  path: (token: string, index: number) => string;
  /** Whether `body` answers the request that carried `token`; default: it is the token. */
  accept?: (token: string, body: string) => boolean;
  /** A request without a complete answer after this long is hung (and given up). */
  timeoutMs?: number;
  /** Called before request `index` goes out (a fault test injects its fault here). */
  beforeEach?: (index: number) => void;
  /** Once aborted, no further request goes out (those under way finish): `total` is then a ceiling. */
  signal?: AbortSignal;
  /** Once more requests than this have failed or been wrong, no further request goes out. */
  maxFailures?: number;
}

export interface TokenLoadResult {
  requests: number;
  right: number;
  /** 502, 503 and 504 answers, by status. */
  gatewayErrors: Record<number, number>;
  wrong: number;
  /** The first wrong answers, described, for a failing test's message. */
  wrongExamples: string[];
  cut: number;
  hung: number;
  ms: number;
}

const GATEWAY_ERRORS = new Set([502, 503, 504]);

export async function tokenLoad(o: TokenLoadOptions): Promise<TokenLoadResult> {
  const accept = o.accept ?? ((token, body) => body === token);
  const timeoutMs = o.timeoutMs ?? 20_000;
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
  const result: TokenLoadResult = { requests: 0, right: 0, gatewayErrors: {}, wrong: 0, wrongExamples: [], cut: 0, hung: 0, ms: 0 };
  const wrong = (text: string) => {
    result.wrong++;
    if (result.wrongExamples.length < 10) result.wrongExamples.push(text);
  };
  const one = (index: number): Promise<void> =>
    new Promise((resolve) => {
      const token = `${index}.${randomBytes(6).toString("hex")}`;
      let done = false;
      const finish = (record: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        record();
        resolve();
      };
      const req = request({ agent, host: "127.0.0.1", port: o.port, path: o.path(token, index) }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("error", () => finish(() => result.cut++));
        res.on("end", () =>
          finish(() => {
            const status = res.statusCode!;
            const body = Buffer.concat(chunks).toString("latin1");
            if (status === 200 && accept(token, body)) result.right++;
            else if (GATEWAY_ERRORS.has(status)) result.gatewayErrors[status] = (result.gatewayErrors[status] ?? 0) + 1;
            else wrong(`request ${index} (token ${token}): ${status} ${JSON.stringify(body.slice(0, 120))}`);
          }),
        );
      });
      const timer = setTimeout(() => {
        finish(() => result.hung++);
        req.destroy();
      }, timeoutMs);
      req.on("error", () => finish(() => result.cut++));
      req.end();
    });
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    const givenUp = () => o.maxFailures !== undefined && failures(result) + result.wrong > o.maxFailures;
    while (next < o.total && !o.signal?.aborted && !givenUp()) {
      const index = next++;
      o.beforeEach?.(index);
      await one(index);
      result.requests++;
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  result.ms = Date.now() - started;
  return result;
}

/** Every failed request: gateway errors, cut and hung ones (wrong answers are counted apart). */
export function failures(r: TokenLoadResult): number {
  return Object.values(r.gatewayErrors).reduce((a, b) => a + b, 0) + r.cut + r.hung;
}
