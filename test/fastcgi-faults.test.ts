// Faults between postern and a FastCGI backend (FastCGI spec §3-§6), each
// mapped to the gateway's own answer (DESIGN.md, "HTTP answers of the gateway
// itself": malformed 502, too slow 504, overloaded 503) and each followed by
// a normal request, so a fault never leaves the gateway unable to serve.
// The backend is test/helpers/fake-fastcgi.ts, which misbehaves on cue.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Hono } from "hono";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { encodeStream, ProtocolStatus, RecordType } from "../gateways/fastcgi/record.ts";
import { fastcgi, serve } from "../runtimes/node/index.ts";
import { connectHangs, startBlackhole } from "./helpers/blackhole.ts";
import { header, respondOk, startFakeFastCgi, type FakeFastCgi, type FakeOptions, type FakeRequest } from "./helpers/fake-fastcgi.ts";
import { concatBytes } from "../src/io/bytes.ts";

const MiB = 1024 * 1024;

let dir: string;
let root: string;
const cleanups: (() => Promise<void>)[] = [];

// The gateway's error log (runtime logError -> process.stderr), kept for the assertions and out of the test output.
let logged: string[] = [];
let stderrSpy: MockInstance;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-faults-"));
  root = join(dir, "www");
  mkdirSync(join(root, "dead"), { recursive: true });
  writeFileSync(join(root, "x.php"), "");
  writeFileSync(join(root, "dead", "x.php"), "");
  stderrSpy = vi.spyOn(process.stderr, "write").mockImplementation(((chunk: string | Uint8Array) => {
    logged.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
    return true;
  }) as typeof process.stderr.write);
});

afterAll(() => {
  stderrSpy.mockRestore();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  logged = [];
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function backend(options?: FakeOptions): Promise<FakeFastCgi> {
  const fake = await startFakeFastCgi(options);
  cleanups.push(() => fake.close());
  return fake;
}

// Durations as postern.toml takes them: a number is seconds, so milliseconds go as strings.
const QUICK = { connect_timeout: "1s", first_byte_timeout: "2s", idle_timeout: "2s" };

/** postern serving `routes` (hono path -> fastcgi options) on 127.0.0.1; resolves with the base URL. */
async function serveRoutes(routes: [string, Record<string, unknown>][]): Promise<string> {
  const app = new Hono();
  const handlers = routes.map(([path, options]) => {
    const handler = fastcgi({ root, ...QUICK, ...options });
    app.all(path, handler);
    return handler;
  });
  const server = await serve(app, { listen: ["127.0.0.1:0"] });
  cleanups.push(async () => {
    for (const handler of handlers) await handler.close();
    await server.close();
  });
  const addr = server.addresses[0]!;
  if (addr.kind !== "tcp") throw new Error("expected a TCP listen address");
  return `http://127.0.0.1:${addr.port}`;
}

/** postern in front of `fake` (or the given backend address) on every path. */
async function gateway(target: FakeFastCgi | string, options: Record<string, unknown> = {}): Promise<string> {
  const backendAddress = typeof target === "string" ? target : target.address;
  return serveRoutes([["*", { backend: [backendAddress], ...options }]]);
}

interface Answer {
  status: number;
  headers: Headers;
  body: string;
  ms: number;
}

async function get(url: string, init: RequestInit = {}): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000), ...init });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body, ms: Date.now() - started };
}

/** A gateway error page: the status, and nothing of the backend in the body (DESIGN.md). */
function expectGatewayAnswer(answer: Answer, status: number): void {
  expect(answer.status).toBe(status);
  expect(answer.body).toMatch(new RegExp(`^${status} [A-Za-z ]+\\n$`));
}

/** The guard every fault test ends with: a normal request right after is served. */
async function stillServes(base: string, fake: FakeFastCgi): Promise<void> {
  fake.next(respondOk);
  const answer = await get(`${base}/x.php`);
  expect(answer.status).toBe(200);
  expect(answer.body).toBe("ok");
}

/** A loopback address whose connects hang, or undefined after skipping the test (saying why). */
async function blackholeOrSkip(ctx: { skip(note: string): void }): Promise<{ address: string } | undefined> {
  const hole = await startBlackhole();
  if (!hole) return void ctx.skip("perl is needed for the loopback blackhole listener");
  cleanups.push(() => hole.stop());
  if (!(await connectHangs(hole.address, 300))) return void ctx.skip("connects to a full accept queue do not hang here");
  return hole;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`${what}: nothing after ${ms} ms`)))]);
}

const HEAD = "Content-Type: text/plain\r\n\r\n";

describe("malformed or missing answers -> 502", () => {
  it("truncated record -> 502", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    fake.next(async (req) => {
      // The header promises 100 bytes of STDOUT; 10 come, then the connection closes (spec §3.3).
      await req.raw(concatBytes([header({ type: RecordType.STDOUT, id: req.id, length: 100, padding: 4 }), new Uint8Array(10)]));
      req.close();
    });
    expectGatewayAnswer(await get(`${base}/x.php`), 502);
    await stillServes(base, fake);
  });

  it("STDOUT for another request id -> 502, connection not reused", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    fake.next((req) => void req.raw(encodeStream(RecordType.STDOUT, req.id + 1, new TextEncoder().encode(`${HEAD}x`))));
    expectGatewayAnswer(await get(`${base}/x.php`), 502);
    const bad = fake.requests[0]!;
    await within(bad.closed, 2_000, "the gateway closing the connection that carried a wrong id");
    await stillServes(base, fake);
    expect(fake.requests[1]!.connId).not.toBe(bad.connId);
    expect(fake.stats.connections).toBe(2);
  });

  it("bad version byte -> 502", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    fake.next((req) => {
      const record = encodeStream(RecordType.STDOUT, req.id, new TextEncoder().encode(`${HEAD}x`));
      record[0] = 2; // spec §8: FCGI_VERSION_1 is the only version
      void req.raw(record);
    });
    expectGatewayAnswer(await get(`${base}/x.php`), 502);
    await stillServes(base, fake);
  });

  it("garbage bytes -> 502", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    fake.next((req) => void req.raw("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nnot FastCGI at all"));
    expectGatewayAnswer(await get(`${base}/x.php`), 502);
    await stillServes(base, fake);
  });

  it("connection closed before any answer -> 502", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    fake.next((req) => req.close());
    expectGatewayAnswer(await get(`${base}/x.php`), 502);
    expect(fake.stats.requests).toBe(1); // not sent again
    await stillServes(base, fake);
  });
});

describe("timeouts and unreachable backends", () => {
  it("silence -> 504 after first_byte_timeout", async () => {
    const fake = await backend();
    const base = await gateway(fake, { first_byte_timeout: "300ms" });
    fake.next((req) => req.silent());
    const answer = await get(`${base}/x.php`);
    expectGatewayAnswer(answer, 504);
    expect(answer.ms).toBeGreaterThanOrEqual(250);
    expect(answer.ms).toBeLessThan(2_000);
    await stillServes(base, fake);
  });

  it("a health check the backend never answers lets go of its connection at the check's timeout", async () => {
    const fake = await backend({ behaviour: (req) => req.silent() });
    await serveRoutes([["*", { backend: [fake.address], health: { interval: "50ms", timeout: "100ms" } }]]);
    await fake.waitForRequests(6);
    // The check running now, and at most the one before it whose close is still on its way.
    expect(fake.stats.open).toBeLessThanOrEqual(2);
  });

  it("answer stalls after it began -> body cut after idle_timeout", async () => {
    const fake = await backend();
    const base = await gateway(fake, { idle_timeout: "300ms" });
    fake.next(async (req) => {
      await req.stdout(`${HEAD}the beginning, and then nothing`);
    });
    const started = Date.now();
    const res = await fetch(`${base}/x.php`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);
    await within(fake.requests[0]!.closed, 2_000, "the gateway dropping the stalled connection");
    await stillServes(base, fake);
  });

  it("a head begun, then silence -> 504 after idle_timeout: nothing was sent yet", async () => {
    const fake = await backend();
    const base = await gateway(fake, { idle_timeout: "300ms", first_byte_timeout: "30s" });
    fake.next(async (req) => {
      await req.stdout("Status: 200 OK\r\nContent-Ty");
    });
    const answer = await get(`${base}/x.php`);
    expectGatewayAnswer(answer, 504);
    expect(answer.ms).toBeLessThan(10_000);
    await stillServes(base, fake);
  });

  it("connect refused -> 502", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-refused-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const socketPath = join(dir, "later.sock");
    const base = await gateway(`unix:${socketPath}`);
    expectGatewayAnswer(await get(`${base}/x.php`), 502);
    // The backend comes up at that address: the very next request reaches it.
    const fake = await backend({ socketPath });
    await stillServes(base, fake);
  });

  it("connect to a blackhole -> 504 after connect_timeout (max_conns set, no probe)", async (ctx) => {
    const hole = await blackholeOrSkip(ctx);
    if (!hole) return;
    const fake = await backend();
    const base = await serveRoutes([
      ["/dead/*", { backend: [hole.address], connect_timeout: "300ms", max_conns: 1 }],
      ["*", { backend: [fake.address] }],
    ]);
    const answer = await get(`${base}/dead/x.php`, { signal: AbortSignal.timeout(8_000) });
    expectGatewayAnswer(answer, 504);
    expect(answer.ms).toBeLessThan(2_000);
    await stillServes(base, fake);
  });

  it("connect to a blackhole -> 504 after connect_timeout (capacity unknown, probed)", async (ctx) => {
    const hole = await blackholeOrSkip(ctx);
    if (!hole) return;
    const fake = await backend();
    const base = await serveRoutes([
      ["/dead/*", { backend: [hole.address], connect_timeout: "300ms" }],
      ["*", { backend: [fake.address] }],
    ]);
    const answer = await get(`${base}/dead/x.php`, { signal: AbortSignal.timeout(8_000) });
    expectGatewayAnswer(answer, 504);
    expect(answer.ms).toBeLessThan(2_000);
    await stillServes(base, fake);
  });

  it("one blackholed backend of two does not hold up requests (capacity unknown, probed)", async (ctx) => {
    const hole = await blackholeOrSkip(ctx);
    if (!hole) return;
    const fake = await backend();
    const base = await gateway(hole.address, { backend: [hole.address, fake.address], connect_timeout: "300ms" });
    const answer = await get(`${base}/x.php`, { signal: AbortSignal.timeout(8_000) });
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeLessThan(2_000);
    await stillServes(base, fake);
  });
});

describe("END_REQUEST protocol status before any output (spec §5.5)", () => {
  it("OVERLOADED -> 503 with Retry-After", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    fake.next((req) => void req.endRequest(0, ProtocolStatus.OVERLOADED));
    const answer = await get(`${base}/x.php`);
    expectGatewayAnswer(answer, 503);
    expect(answer.headers.get("retry-after")).toMatch(/^\d+$/);
    await stillServes(base, fake);
  });

  it("CANT_MPX_CONN -> 503", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    fake.next((req) => void req.endRequest(0, ProtocolStatus.CANT_MPX_CONN));
    expectGatewayAnswer(await get(`${base}/x.php`), 503);
    await stillServes(base, fake);
  });

  it("UNKNOWN_ROLE -> 502", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    fake.next((req) => void req.endRequest(0, ProtocolStatus.UNKNOWN_ROLE));
    expectGatewayAnswer(await get(`${base}/x.php`), 502);
    await stillServes(base, fake);
  });
});

describe("malformed CGI head in STDOUT (RFC 3875 §6) -> 502", () => {
  const bigHead = Array.from({ length: 1_000 }, (_, i) => `X-Pad-${i}: ${"p".repeat(90)}\r\n`).join("") + "\r\n";
  it.each([
    ["no blank line before END_REQUEST", "Content-Type: text/plain\r\nX-More: 1\r\n"],
    ["CR inside a header value", "Content-Type: text/plain\r\nX-Split: a\rSet-Cookie: evil=1\r\n\r\nbody"],
    ["100 KB of headers", `Content-Type: text/plain\r\n${bigHead}body`],
    ["bad Status", "Status: abc\r\nContent-Type: text/plain\r\n\r\nbody"],
    ["interim Status 1xx", "Status: 103 Early Hints\r\nContent-Type: text/plain\r\n\r\nbody"],
  ])("%s -> 502", async (_name, stdout) => {
    const fake = await backend();
    const base = await gateway(fake);
    fake.next(async (req) => {
      await req.stdout(stdout);
      await req.end();
    });
    expectGatewayAnswer(await get(`${base}/x.php`), 502);
    await stillServes(base, fake);
  });
});

describe("STDERR", () => {
  it("stderr goes to the error log, not to the client", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    fake.next(async (req) => {
      await req.stderr("PHP Warning: boom in x.php on line 3\n");
      await req.respond("ok");
    });
    const answer = await get(`${base}/x.php`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("ok");
    await sleep(50); // the log is written once per event-loop turn
    expect(logged.join("")).toContain("PHP Warning: boom in x.php on line 3");
    await stillServes(base, fake);
  });

  it("1 MB of stderr logs a line of at most ~8 KB", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    fake.next(async (req) => {
      await req.stderr("E".repeat(MiB));
      await req.respond("ok");
    });
    const answer = await get(`${base}/x.php`);
    expect(answer.status).toBe(200);
    await sleep(50);
    const lines = logged.join("").split("\n").filter((line) => line.includes("EEEE"));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(8 * 1024 + 512);
    await stillServes(base, fake);
  });
});

describe("client abort", () => {
  /** Starts an answer, lets the client read the first bytes, then aborts the client. */
  async function abortMidResponse(base: string, fake: FakeFastCgi): Promise<FakeRequest> {
    fake.next(async (req) => {
      await req.stdout(`${HEAD}first bytes`);
      await req.gone; // never finishes on its own
    });
    const controller = new AbortController();
    const res = await fetch(`${base}/x.php`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("first bytes");
    controller.abort();
    await reader.read().catch(() => undefined);
    return fake.requests.at(-1)!;
  }

  it("client abort mid-response closes the backend connection", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    const req = await abortMidResponse(base, fake);
    expect(await within(req.gone, 3_000, "the backend hearing of the abort")).toBe("closed");
    expect(fake.stats.closedByGateway).toBeGreaterThanOrEqual(1);
    await stillServes(base, fake);
  });

  it("client abort before the answer: backend connection closed, no backend error logged", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    fake.next(async (req) => {
      await req.gone;
    });
    const controller = new AbortController();
    const pending = fetch(`${base}/x.php`, { signal: controller.signal }).catch(() => undefined);
    await fake.waitForRequests(1);
    controller.abort();
    await pending;
    expect(await within(fake.requests[0]!.gone, 3_000, "the backend hearing of the abort")).toBe("closed");
    await sleep(50);
    expect(logged.join("")).not.toMatch(/BACKEND_/);
    await stillServes(base, fake);
  });

  it("client abort on a multiplexed connection sends ABORT_REQUEST (spec §5.4)", async () => {
    const fake = await backend({ getValues: { FCGI_MPXS_CONNS: "1", FCGI_MAX_CONNS: "1" } });
    const base = await gateway(fake);
    const req = await abortMidResponse(base, fake);
    expect(await within(req.gone, 3_000, "the backend hearing of the abort")).toBe("aborted");
    expect(fake.stats.aborts).toBe(1);
    // Records already on their way for the aborted request are dropped; the shared connection stays.
    await req.stdout("late bytes");
    await req.end();
    await stillServes(base, fake);
    expect(fake.stats.connections).toBe(1);
  });
});

describe("keep-alive (FCGI_KEEP_CONN, spec §5.1)", () => {
  it("sequential requests reuse one kept connection", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    for (let i = 0; i < 3; i++) expect((await get(`${base}/x.php`)).status).toBe(200);
    expect(fake.requests.every((r) => r.keepConn)).toBe(true);
    expect(fake.stats.connections).toBe(1);
    expect(fake.stats.requests).toBe(3);
  });

  it("backend closing after each request: a closed kept connection is never leased, never 502", async () => {
    const fake = await backend({ closeAfterEach: true });
    const base = await gateway(fake);
    for (let i = 0; i < 4; i++) {
      const answer = await get(`${base}/x.php`);
      expect(answer.status, `request ${i + 1}`).toBe(200);
      expect(answer.body).toBe("ok");
    }
    expect(fake.stats.connections).toBe(4);
    await stillServes(base, fake);
  });
  it("kept connection closed as a GET arrives -> sent again on a new connection, 200", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    expect((await get(`${base}/x.php`)).status).toBe(200);
    // The backend drops the kept connection just as the next request goes out
    // (php-fpm's child ending after pm.max_requests): a GET may be sent again
    // (RFC 9110 §9.2.2; nginx retries a failed cached connection too).
    fake.next((req) => req.close());
    const answer = await get(`${base}/x.php`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("ok");
    expect(fake.stats.requests).toBe(3);
    await stillServes(base, fake);
  });

  it("every kept connection closed (a backend restart) as a GET arrives -> sent again on a new connection, 200", async () => {
    // Two requests at once leave two kept connections; the backend then closes
    // each as the next request on it arrives.
    const fake = await backend({
      behaviour: (req) => {
        if (req.seq <= 2) setTimeout(() => void req.respond("ok"), 100);
        else if (req.connId <= 2) req.close();
        else void req.respond("ok");
      },
    });
    const base = await gateway(fake, { max_conns: 2 });
    expect((await Promise.all([get(`${base}/x.php`), get(`${base}/x.php`)])).map((a) => a.status)).toEqual([200, 200]);
    const answer = await get(`${base}/x.php`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("ok");
  });

  it("kept connection closed as a queued GET goes out on it, another request taking the room: the GET waits its turn, 200", async () => {
    // php-fpm's child ending after pm.max_requests under load: the connection
    // freed by one answer goes at once to a queued request, just as it closes.
    const fake = await backend({
      behaviour: (req) => {
        if (req.seq === 1) setTimeout(() => void req.respond("ok"), 100);
        else if (req.connId === 1) req.close();
        else void req.respond("ok");
      },
    });
    const base = await gateway(fake, { max_conns: 1 });
    const answers = await Promise.all([get(`${base}/x.php`), get(`${base}/x.php`), get(`${base}/x.php`)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
  });

  it("kept connection closed as a POST arrives -> 502, the request is never sent twice", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    expect((await get(`${base}/x.php`)).status).toBe(200);
    // It may have acted on it: a POST is not idempotent.
    fake.next((req) => req.close());
    expectGatewayAnswer(await get(`${base}/x.php`, { method: "POST", body: "a=1" }), 502);
    expect(fake.stats.requests).toBe(2);
    await stillServes(base, fake);
  });
});

describe("several backends: a backend that drops a request before answering", () => {
  /** Two fakes, the first of which closes every new connection once it has read the request. */
  async function dropperAndGood(): Promise<{ dropper: FakeFastCgi; good: FakeFastCgi; base: string }> {
    const dropper = await backend({ behaviour: (req) => req.close() });
    const good = await backend();
    const base = await serveRoutes([["*", { backend: [dropper.address, good.address], balance: "round_robin", keepalive: false }]]);
    return { dropper, good, base };
  }

  it.each(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])("%s is sent again to the other backend, once", async (method) => {
    const { dropper, good, base } = await dropperAndGood();
    const answer = await get(`${base}/x.php`, { method, ...(method === "PUT" ? { body: "data" } : {}) });
    expect(answer.status).toBe(200);
    expect([dropper.stats.requests, good.stats.requests]).toEqual([1, 1]);
  });

  it("POST -> 502, sent once; the backend that dropped it is then avoided for fail_timeout", async () => {
    const { dropper, good, base } = await dropperAndGood();
    expectGatewayAnswer(await get(`${base}/x.php`, { method: "POST", body: "a=1" }), 502);
    expect([dropper.stats.requests, good.stats.requests]).toEqual([1, 0]);
    for (let i = 0; i < 3; i++) expect((await get(`${base}/x.php`, { method: "POST", body: "a=1" })).status).toBe(200);
    expect([dropper.stats.requests, good.stats.requests]).toEqual([1, 3]);
  });

  it("a body streamed to the backend (request_buffering = false) is not sent again", async () => {
    const dropper = await backend({ behaviour: (req) => req.close() });
    const good = await backend();
    const base = await serveRoutes([["*", { backend: [dropper.address, good.address], balance: "round_robin", request_buffering: false }]]);
    expectGatewayAnswer(await get(`${base}/x.php`, { method: "PUT", body: "data" }), 502);
    expect([dropper.stats.requests, good.stats.requests]).toEqual([1, 0]);
  });

  it.each([
    ["HEAD", "Content-Type: text/plain\r\nX-From: first\r\n\r\n"],
    ["GET", "Status: 204 No Content\r\nX-From: first\r\n\r\n"],
  ])("%s answered with a whole head (no body follows), then dropped: that answer, never sent again", async (method, head) => {
    const first = await backend({
      behaviour: (req) => {
        void req.stdout(head).then(() => req.close());
      },
    });
    const good = await backend();
    const base = await serveRoutes([["*", { backend: [first.address, good.address], keepalive: false }]]);
    const answer = await get(`${base}/x.php`, { method });
    expect([answer.status, answer.headers.get("x-from")]).toEqual([method === "HEAD" ? 200 : 204, "first"]);
    expect([first.stats.requests, good.stats.requests]).toEqual([1, 0]);
  });

  it("GET dropped after part of its body reached the client: the answer is cut, never sent again", async () => {
    const first = await backend({
      behaviour: (req) => {
        void req.stdout(`${HEAD}the first part`).then(() => req.close());
      },
    });
    const good = await backend();
    const base = await serveRoutes([["*", { backend: [first.address, good.address], keepalive: false }]]);
    const res = await fetch(`${base}/x.php`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect([first.stats.requests, good.stats.requests]).toEqual([1, 0]);
  });

  it("the other backend busy: the GET waits in the queue for it, then is answered", async () => {
    const dropper = await backend({ behaviour: (req) => (req.params.get("QUERY_STRING") === "drop" ? req.close() : void req.respond("ok")) });
    const busy = await backend({
      getValues: { FCGI_MAX_CONNS: "1", FCGI_MPXS_CONNS: "0" },
      behaviour: async (req) => {
        await sleep(300);
        await req.respond("ok");
      },
    });
    const base = await serveRoutes([["*", { backend: [dropper.address, busy.address], balance: "round_robin", keepalive: false }]]);
    expect((await get(`${base}/x.php`)).status).toBe(200);
    const slow = get(`${base}/x.php`);
    await busy.waitForRequests(1);
    const dropped = await get(`${base}/x.php?drop`);
    expect([dropped.status, (await slow).status]).toEqual([200, 200]);
    expect([dropper.stats.requests, busy.stats.requests]).toEqual([2, 2]);
  });

  it("every backend drops it -> 502, each tried once", async () => {
    const first = await backend({ behaviour: (req) => req.close() });
    const second = await backend({ behaviour: (req) => req.close() });
    const base = await serveRoutes([["*", { backend: [first.address, second.address], keepalive: false }]]);
    expectGatewayAnswer(await get(`${base}/x.php`), 502);
    expect([first.stats.requests, second.stats.requests]).toEqual([1, 1]);
  });
});

describe("several backends: a backend that does not answer in time", () => {
  it("GET -> 504, not sent again; the backend is then avoided for fail_timeout", async () => {
    const hanging = await backend({ behaviour: (req) => req.silent() });
    const good = await backend();
    const base = await serveRoutes([["*", { backend: [hanging.address, good.address], balance: "round_robin", first_byte_timeout: "300ms" }]]);
    // The backend may still be working on it: it is never sent elsewhere.
    expectGatewayAnswer(await get(`${base}/x.php`), 504);
    expect([hanging.stats.requests, good.stats.requests]).toEqual([1, 0]);
    for (let i = 0; i < 4; i++) expect((await get(`${base}/x.php`)).status).toBe(200);
    expect([hanging.stats.requests, good.stats.requests]).toEqual([1, 4]);
  });

  it("a lone backend that timed out still gets the next request", async () => {
    const fake = await backend();
    const base = await serveRoutes([["*", { backend: [fake.address], first_byte_timeout: "300ms" }]]);
    fake.next((req) => req.silent());
    expectGatewayAnswer(await get(`${base}/x.php`), 504);
    expect((await get(`${base}/x.php`)).status).toBe(200);
    expect(fake.stats.requests).toBe(2);
  });
});

describe("capacity", () => {
  const slowOk = (ms: number) => async (req: FakeRequest) => {
    await sleep(ms);
    await req.respond("ok");
  };

  it("FCGI_MAX_CONNS=2: 20 concurrent requests use at most 2 connections", async () => {
    const fake = await backend({ getValues: { FCGI_MAX_CONNS: "2", FCGI_MPXS_CONNS: "0" }, behaviour: slowOk(30) });
    const base = await gateway(fake);
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(`${base}/x.php`)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(fake.stats.maxConcurrent).toBeLessThanOrEqual(2);
    await stillServes(base, fake);
  });

  it("FCGI_MAX_CONNS and FCGI_MAX_REQS past any number a backend could mean (1e400): requests are still served", async () => {
    const huge = "9".repeat(400);
    const fake = await backend({ getValues: { FCGI_MAX_CONNS: huge, FCGI_MAX_REQS: huge, FCGI_MPXS_CONNS: "1" }, behaviour: slowOk(30) });
    const base = await gateway(fake, { queue_timeout: "3s" });
    const answers = await Promise.all(Array.from({ length: 4 }, () => get(`${base}/x.php`)));
    expect(answers.map((a) => a.status)).toEqual(Array(4).fill(200));
    await stillServes(base, fake);
  });

  it("max_conns = 3: 20 concurrent requests use at most 3 connections", async () => {
    const fake = await backend({ getValues: "silent", behaviour: slowOk(30) });
    const base = await gateway(fake, { max_conns: 3 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(`${base}/x.php`)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(fake.stats.maxConcurrent).toBeLessThanOrEqual(3);
    expect(fake.stats.probes).toBe(0);
    await stillServes(base, fake);
  });

  it("queue full -> 503 with Retry-After", async () => {
    const fake = await backend({ behaviour: slowOk(300) });
    const base = await gateway(fake, { max_conns: 1, max_queue: 1 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => get(`${base}/x.php`)));
    const refused = answers.filter((a) => a.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const a of refused) expect(a.headers.get("retry-after")).toMatch(/^\d+$/);
    for (const a of answers.filter((a) => a.status !== 503)) expect(a.status).toBe(200);
    fake.behaviour = respondOk;
    await stillServes(base, fake);
  });
});

describe("multiplexing (FCGI_MPXS_CONNS=1, spec §3.3)", () => {
  it.each([
    ["on a cold gateway", false],
    ["after a first request", true],
  ])("10 concurrent requests share one connection, each answer reaches its own client (%s)", async (_name, warm) => {
    const fake = await backend({ getValues: { FCGI_MPXS_CONNS: "1" } });
    const base = await gateway(fake);
    if (warm) expect((await get(`${base}/x.php`)).status).toBe(200);
    const writes: number[] = [];
    fake.behaviour = async (req) => {
      // Wait for all ten, so that the answers can only interleave.
      await Promise.race([fake.waitForRequests(warm ? 11 : 10), sleep(1_500)]);
      const echo = `QUERY_STRING=${req.params.get("QUERY_STRING")}`;
      for (const piece of [HEAD, echo.slice(0, 5), echo.slice(5)]) {
        writes.push(req.id);
        await req.stdout(piece);
        await sleep(Math.random() * 10);
      }
      await req.end();
    };
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => get(`${base}/x.php?n=${i}`)));
    answers.forEach((a, i) => {
      expect(a.status).toBe(200);
      expect(a.body).toBe(`QUERY_STRING=n=${i}`);
    });
    expect(fake.stats.connections).toBe(1);
    // Interleaved: some request's records are not all next to each other.
    const contiguous = [...new Set(writes)].every((id) => {
      const first = writes.indexOf(id);
      return writes.slice(first, first + 3).every((w) => w === id);
    });
    expect(contiguous).toBe(false);
    fake.behaviour = respondOk;
    await stillServes(base, fake);
  });
});

describe("streaming with backpressure (DESIGN.md: memory stays bounded)", () => {
  const bigAnswer = (bytes: number) => async (req: FakeRequest) => {
    await req.stdout("Content-Type: application/octet-stream\r\n\r\n");
    await req.streamStdout(bytes);
    await req.end();
  };

  /** Reads the body through node:http; `onData` sees the running count and the response (to pause it). */
  function download(url: string, onData?: (received: number, res: import("node:http").IncomingMessage) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      const request = httpGet(url, { agent: false }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        let received = 0;
        res.on("data", (chunk: Buffer) => {
          received += chunk.length;
          onData?.(received, res);
        });
        res.on("end", () => resolve(received));
        res.on("error", reject);
        res.on("aborted", () => reject(new Error(`aborted after ${received} bytes`)));
      });
      request.on("error", reject);
    });
  }

  it("1 GiB to a client through the HTTP stack: RSS grows by less than 64 MiB", async () => {
    const fake = await backend();
    const base = await gateway(fake);
    // Warm up: the first big answer settles the allocator and the JIT.
    fake.next(bigAnswer(64 * MiB));
    expect(await download(`${base}/x.php`)).toBe(64 * MiB);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    try {
      fake.next(bigAnswer(1024 * MiB));
      const received = await download(`${base}/x.php`);
      expect(received).toBe(1024 * MiB);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect((peak - baseline) / MiB).toBeLessThan(64);
    await stillServes(base, fake);
  }, 120_000);

  it("client stops reading for 2 s: once response_buffer is full, the backend's writes stall", async () => {
    const fake = await backend();
    // The answer is read ahead of the client up to response_buffer; then backpressure reaches the backend.
    const base = await gateway(fake, { response_buffer: "8m" });
    const total = 256 * MiB;
    fake.next(bigAnswer(total));
    let paused: Promise<{ atPause: number; early: number; late: number; received: number }> | undefined;
    const received = await download(`${base}/x.php`, (count, res) => {
      if (paused || count < 32 * MiB) return;
      res.pause();
      paused = (async () => {
        // The buffers on the way fill up: however slow the machine, the backend is held once its writes stop for 500 ms.
        let early = fake.stats.streamedBytes;
        for (let still = 0; still < 500; ) {
          await sleep(100);
          still = fake.stats.streamedBytes === early ? still + 100 : 0;
          early = fake.stats.streamedBytes;
        }
        await sleep(1_500);
        const late = fake.stats.streamedBytes;
        res.resume();
        return { atPause: count, early, late, received: count };
      })();
    });
    expect(received).toBe(total);
    const p = await paused!;
    // Backpressure reached the backend: nothing more was taken from it while the client read nothing.
    expect(p.late - p.early).toBe(0);
    // And what sits in buffers between the backend and the client stays small.
    expect((p.late - p.atPause) / MiB).toBeLessThan(32);
    await stillServes(base, fake);
  }, 60_000);
});


describe("queueing, uploads and several backends", () => {
  it("a request whose client leaves while it is queued never reaches the backend", async () => {
    const fake = await backend();
    const base = await gateway(fake, { max_conns: 1 });
    fake.next(async (req) => {
      await sleep(400);
      await req.respond("slow");
    });
    const slow = get(`${base}/x.php`);
    await fake.waitForRequests(1);
    const controller = new AbortController();
    const queued = fetch(`${base}/x.php`, { signal: controller.signal }).catch(() => "aborted");
    await sleep(100);
    controller.abort();
    expect(await queued).toBe("aborted");
    expect((await slow).body).toBe("slow");
    await sleep(100);
    expect(fake.stats.requests).toBe(1);
    await stillServes(base, fake);
  });

  it("an upload slower than first_byte_timeout is still answered", async () => {
    const fake = await backend();
    fake.next((req) => void req.respond(`got ${req.stdin.length}`));
    const base = await gateway(fake, { first_byte_timeout: "300ms" });
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${base}/x.php`, { method: "POST", headers: { "content-length": "30" } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      });
      request.on("error", reject);
      void (async () => {
        for (let i = 0; i < 3; i++) {
          request.write("0123456789");
          await sleep(250);
        }
        request.end();
      })();
    });
    expect(answer).toEqual({ status: 200, body: "got 30" });
  });

  it("a backend that refused is avoided while a healthy one is only busy", async () => {
    const fake = await backend();
    const deadDir = mkdtempSync(join(tmpdir(), "postern-dead-"));
    cleanups.push(async () => rmSync(deadDir, { recursive: true, force: true }));
    const base = await serveRoutes([["*", { backend: [`unix:${join(deadDir, "none.sock")}`, fake.address], max_conns: 1 }]]);
    expect((await get(`${base}/x.php`)).status).toBe(200); // the dead one was tried, then the live one
    fake.next(async (req) => {
      await sleep(300);
      await req.respond("first");
    });
    const answers = await Promise.all([get(`${base}/x.php`), get(`${base}/x.php`), get(`${base}/x.php`)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
  });

  it("a local redirect (Location: /path, no Status) -> 302 to the client", async () => {
    const fake = await backend();
    fake.next((req) => void req.respond("", "Location: /elsewhere\r\n"));
    const base = await gateway(fake);
    const res = await fetch(`${base}/x.php`, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/elsewhere");
  });

  it("an abandoned multiplexed request does not hold up the others", async () => {
    const fake = await backend({ getValues: { FCGI_MPXS_CONNS: "1", FCGI_MAX_CONNS: "1" } });
    const base = await gateway(fake);
    await stillServes(base, fake); // the connection is open and known to multiplex
    fake.next(async (req) => {
      await req.stdout(HEAD);
      await req.streamStdout(16 * 1024 * 1024);
    });
    const controller = new AbortController();
    const big = await fetch(`${base}/x.php`, { signal: controller.signal });
    const reader = big.body!.getReader();
    await reader.read(); // then stop reading: its queue fills and reading waits for it
    await sleep(300);
    const other = get(`${base}/x.php`);
    await sleep(100);
    controller.abort();
    await reader.read().catch(() => undefined);
    const answer = await other;
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("ok");
  });
});
