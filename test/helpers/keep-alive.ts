// A client that sends requests one after the other on one kept-alive TCP
// connection, as a browser does: each request goes out once the answer
// before it is complete by its own framing (RFC 9112 §6.3: Content-Length,
// chunked, or none for HEAD/204/304). What a server wrote past an answer's
// end is read as the start of the next answer, as any client would read it:
// that is how a response split shows.

import { connect, type Socket } from "node:net";

export interface KeptAnswer {
  status: number;
  /** Field lines in order, names lower-cased. */
  headers: [string, string][];
  /** The body, chunked coding removed. */
  body: Buffer;
}

export interface KeptExchange {
  /** The complete answers, in order. */
  answers: KeptAnswer[];
  /** Bytes the server sent after the last complete answer (a cut answer's beginning). */
  rest: Buffer;
  /** The connection was closed by the server before every request was answered. */
  closed: boolean;
}

export interface KeptRequest {
  path: string;
  method?: string;
}

/**
 * Sends each request to 127.0.0.1:port after the previous answer, on one
 * connection (all at once with `pipelined`, RFC 9112 §9.3.2); stops at a
 * close or after `timeoutMs`.
 */
export function keepAliveExchange(port: number, requests: KeptRequest[], options: { pipelined?: boolean; timeoutMs?: number } = {}): Promise<KeptExchange> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const answers: KeptAnswer[] = [];
    let buffer = Buffer.alloc(0);
    let sent = 0;
    let settled = false;
    const socket: Socket = connect({ port, host: "127.0.0.1" }, () => {
      do sendNext();
      while (options.pipelined && sent < requests.length);
    });
    const timer = setTimeout(() => finish(new Error(`no answer ${answers.length + 1} within ${timeoutMs} ms: ${JSON.stringify(buffer.toString("latin1").slice(0, 200))}`)), timeoutMs);

    function sendNext(): void {
      const request = requests[sent++]!;
      socket.write(`${request.method ?? "GET"} ${request.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    }
    function finish(error?: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve({ answers, rest: buffer, closed: answers.length < requests.length });
    }
    socket.on("data", (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        const parsed = parseOne(buffer, requests[answers.length]?.method === "HEAD");
        if (parsed === undefined) return;
        answers.push(parsed.answer);
        buffer = buffer.subarray(parsed.end);
        if (answers.length === requests.length) return finish();
        if (answers.length === sent) sendNext();
      }
    });
    socket.on("error", () => finish());
    socket.on("close", () => finish());
  });
}

/** One complete answer at the start of `bytes`, or undefined while it is incomplete. */
function parseOne(bytes: Buffer, head: boolean): { answer: KeptAnswer; end: number } | undefined {
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const [statusLine, ...lines] = bytes.subarray(0, headEnd).toString("latin1").split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine!);
  if (!match) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
  const status = Number(match[1]);
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  const field = (name: string) => headers.find(([n]) => n === name)?.[1];
  const start = headEnd + 4;
  if (head || status === 204 || status === 304) return { answer: { status, headers, body: Buffer.alloc(0) }, end: start };
  if (/chunked/i.test(field("transfer-encoding") ?? "")) {
    const parts: Buffer[] = [];
    for (let at = start; ; ) {
      const lineEnd = bytes.indexOf("\r\n", at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(bytes.subarray(at, lineEnd).toString("latin1"), 16);
      if (size === 0) {
        const end = bytes.indexOf("\r\n\r\n", lineEnd);
        return end < 0 ? undefined : { answer: { status, headers, body: Buffer.concat(parts) }, end: end + 4 };
      }
      if (bytes.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  const length = Number(field("content-length"));
  if (!Number.isInteger(length) || bytes.length < start + length) return undefined;
  return { answer: { status, headers, body: bytes.subarray(start, start + length) }, end: start + length };
}
