// The WASI gateway through HTTP: the example probe module (examples/wasi/
// src/probe.c, compiled for wasm32-wasi) mounted at /probe/*, so that its
// PATH_INFO picks what it does. What a module gets (CGI meta-variables,
// argv, stdin, and nothing of the host: no environment, no files), what the
// client gets back (fields, status and reason phrase, local redirects, large
// bodies both ways), and the faults and limits, each followed by a normal
// request: traps, endless loops (timeout, threads replaced), memory past
// max_memory, output past max_output or faster than the client reads,
// clients that leave, a full queue; then the modules refused at startup.

import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { download, open } from "./helpers/slow-download.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { exchange } from "./helpers/raw-exchange.ts";
import { buildRequest, rawRequest } from "./helpers/raw-http.ts";
import { buildModule } from "./fixtures/wasi/wasm.ts";
import { logLine, request, type Answer } from "./helpers/answer.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const PROBE = join(import.meta.dirname, "../examples/wasi/probe.wasm");
const HELLO = join(import.meta.dirname, "../examples/wasi/hello.wasm");
const HELLO_SOURCE = join(import.meta.dirname, "../examples/wasi/src/hello.c");
const CLANG = requireBinary(["clang"], "clang lld wasi-libc libclang-rt-dev-wasm32");
const LONG = 120_000;

/** Set in this process before postern starts: no module may ever see it. */
const SECRET = { name: "POSTERN_TEST_SECRET", value: "must-not-reach-modules" };

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

/** Where `got` first departs from `want`, and what it has there: for a failure message. */
function firstDifference(want: Uint8Array, got: Uint8Array): string {
  let i = 0;
  while (i < want.length && i < got.length && want[i] === got[i]) i++;
  return `first difference at byte ${i}: ${JSON.stringify(Buffer.from(got.subarray(i, i + 64)).toString("latin1"))}`;
}

type Options = Record<string, string | number | boolean>;

function toml(value: string | number | boolean): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** A `[[routes]]` table: the probe at /probe/* unless `options` say otherwise. */
function route(options: Options = {}, extraLines: string[] = []): string {
  const keys: Options = { path: "/probe/*", gateway: "wasi", module: PROBE, timeout: "60s", threads: 2, ...options };
  return ["[[routes]]", ...Object.entries(keys).map(([k, v]) => `${k} = ${toml(v)}`), ...extraLines, ""].join("\n");
}

// ---------------------------------------------------------------------------
// HTTP helpers.

/** A gateway error page: the status, and nothing of the module in the body (DESIGN.md). */
function expectGatewayAnswer(answer: Answer, status: number): void {
  expect(answer.status, answer.body.slice(0, 200)).toBe(status);
  expect(answer.body).toMatch(new RegExp(`^${status} [A-Za-z ]+\\n$`));
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Everything the server sends on one connection until it closes it, however the answer ends. */
function rawUntilClose(port: number, bytes: Uint8Array, timeoutMs = 30_000): Promise<{ raw: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const socket = connect({ port, host: "127.0.0.1" }, () => socket.write(bytes));
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`still open after ${timeoutMs} ms`)));
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", (err) => (error = err.message));
    socket.on("close", () => resolve({ raw: Buffer.concat(chunks), error }));
  });
}

/** What the probe's /env prints: its arguments, its environment, and the length of its stdin. */
interface ProbeEnv {
  argv: string[];
  env: Record<string, string>;
  stdin: number;
}

function parseProbeEnv(text: string): ProbeEnv {
  const argv: string[] = [];
  const env: Record<string, string> = {};
  let stdin = -1;
  for (const line of text.split("\n")) {
    const arg = /^argv\[(\d+)\]=(.*)$/s.exec(line);
    if (arg) argv[Number(arg[1])] = arg[2]!;
    else if (line.startsWith("env:")) {
      const eq = line.indexOf("=");
      env[line.slice(4, eq)] = line.slice(eq + 1);
    } else if (line.startsWith("stdin=")) stdin = Number(line.slice(6));
  }
  return { argv, env, stdin };
}

async function probeEnv(url: string, init: RequestInit = {}): Promise<ProbeEnv> {
  const answer = await request(url, init);
  expect(answer.status, answer.body.slice(0, 300)).toBe(200);
  expect(answer.headers.get("content-type")).toBe("text/plain");
  return parseProbeEnv(answer.body);
}

/** The guard every fault test ends with: a normal request right after is served. */
async function stillServes(p: RunningPostern): Promise<void> {
  const seen = await probeEnv(`${p.url}/probe/env?still`);
  expect(seen.env.QUERY_STRING).toBe("still");
}

// ---------------------------------------------------------------------------

describe("a WASI module mounted at /probe/*", () => {
  let p: RunningPostern;

  beforeAll(async () => {
    process.env[SECRET.name] = SECRET.value;
    p = await startPostern(
      route({}, [`env = { WASI_TEST_EXTRA = "from the env key" }`]) +
        route({ path: "/hello", module: HELLO, threads: 1 }),
    );
  }, 60_000);

  afterAll(async () => {
    await p?.stop();
    delete process.env[SECRET.name];
  });

  test("CGI meta-variables: SCRIPT_NAME is the route's fixed part, PATH_INFO the rest (RFC 3875 §4.1)", async () => {
    const seen = await probeEnv(`${p.url}/probe/env?x=1&y=two`, { headers: { "x-custom": "a value" } });
    expect(seen.env).toMatchObject({
      GATEWAY_INTERFACE: "CGI/1.1",
      SERVER_PROTOCOL: "HTTP/1.1",
      REQUEST_METHOD: "GET",
      SCRIPT_NAME: "/probe",
      PATH_INFO: "/env",
      QUERY_STRING: "x=1&y=two",
      REQUEST_URI: "/probe/env?x=1&y=two",
      SERVER_NAME: "127.0.0.1",
      SERVER_PORT: String(portOf(p.url)),
      REMOTE_ADDR: "127.0.0.1",
      HTTP_HOST: `127.0.0.1:${portOf(p.url)}`,
      HTTP_X_CUSTOM: "a value",
    });
    expect(seen.env.SERVER_SOFTWARE).toMatch(/postern/);
    expect(seen.env.CONTENT_LENGTH).toBeUndefined();
    expect(seen.env.CONTENT_TYPE).toBeUndefined();
    expect(seen.stdin).toBe(0);
  });

  test("argv defaults to [SCRIPT_NAME]", async () => {
    expect((await probeEnv(`${p.url}/probe/env`)).argv).toEqual(["/probe"]);
  });

  describe("a query string never becomes arguments (CVE-2012-1823)", () => {
    test.each(["-s", "-h", "foo+bar", "-d+allow_url_include%3d1+-n"])("?%s", async (query) => {
      const seen = await probeEnv(`${p.url}/probe/env?${query}`);
      expect(seen.argv).toEqual(["/probe"]);
      expect(seen.env.QUERY_STRING).toBe(query);
    });
  });

  test("nothing of the host environment reaches the module; the env key does", async () => {
    expect(process.env[SECRET.name]).toBe(SECRET.value);
    const seen = await probeEnv(`${p.url}/probe/env`);
    expect(seen.env[SECRET.name]).toBeUndefined();
    expect(Object.values(seen.env)).not.toContain(SECRET.value);
    expect(seen.env.WASI_TEST_EXTRA).toBe("from the env key");
    for (const name of ["PATH", "HOME", "USER", "PWD", "SHELL"]) expect(seen.env[name], name).toBeUndefined();
    // Everything else is a meta-variable: RFC 3875 §4.1's, the usual extras, or a header's.
    const META = new Set([
      "AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE", "PATH_INFO", "PATH_TRANSLATED",
      "QUERY_STRING", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_IDENT", "REMOTE_USER", "REQUEST_METHOD",
      "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE",
      "REQUEST_URI", "DOCUMENT_URI", "DOCUMENT_ROOT", "SCRIPT_FILENAME", "REMOTE_PORT", "SERVER_ADDR",
      "REQUEST_SCHEME", "HTTPS", "REDIRECT_STATUS", "WASI_TEST_EXTRA",
    ]);
    expect(Object.keys(seen.env).filter((key) => !META.has(key) && !key.startsWith("HTTP_"))).toEqual([]);
  });

  test("no Proxy header (httpoxy), no header whose name holds an underscore", async () => {
    const res = await rawRequest(
      portOf(p.url),
      buildRequest("GET", "/probe/env", [["Host", "x"], ["Proxy", "http://evil.example"], ["X_Under", "1"], ["X-Dash", "2"], ["Connection", "close"]]),
    );
    expect(res.status).toBe(200);
    const { env } = parseProbeEnv(res.body.toString("latin1"));
    expect(env.HTTP_PROXY).toBeUndefined();
    expect(env.HTTP_X_UNDER).toBeUndefined();
    expect(env.HTTP_X_DASH).toBe("2");
  });

  test("a POST: CONTENT_LENGTH, CONTENT_TYPE and the body on stdin", async () => {
    const body = "name=wasi&x=%26";
    const seen = await probeEnv(`${p.url}/probe/env?q=1`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    expect(seen.env).toMatchObject({
      REQUEST_METHOD: "POST",
      CONTENT_LENGTH: String(body.length),
      CONTENT_TYPE: "application/x-www-form-urlencoded",
      QUERY_STRING: "q=1",
    });
    expect(seen.stdin).toBe(body.length);
  });

  test(
    "a 20 MiB POST is echoed back byte for byte",
    async () => {
      const body = randomBytes(20 * MiB);
      const res = await fetch(`${p.url}/probe/echo`, { method: "POST", body, signal: AbortSignal.timeout(LONG) });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/octet-stream");
      const echoed = Buffer.from(await res.arrayBuffer());
      expect(echoed.length).toBe(body.length);
      expect(md5(echoed)).toBe(md5(body));
    },
    LONG,
  );

  test("a chunked POST is echoed back whole, and its length becomes CONTENT_LENGTH", async () => {
    const sizes = [1, 100, 70_000, 3, 65_536, 12_345];
    const pieces = sizes.map((n, i) => randomBytes(n).fill(i, 0, 1));
    const chunked = (target: string) =>
      buildRequest(
        "POST",
        target,
        [["Host", "x"], ["Transfer-Encoding", "chunked"], ["Connection", "close"]],
        Buffer.concat([...pieces.flatMap((b) => [Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")]), Buffer.from("0\r\n\r\n")]),
      );
    const whole = Buffer.concat(pieces);
    const echo = await rawRequest(portOf(p.url), chunked("/probe/echo"), 30_000);
    expect(echo.status).toBe(200);
    expect(echo.body.length).toBe(whole.length);
    expect(md5(echo.body)).toBe(md5(whole));
    const env = await rawRequest(portOf(p.url), chunked("/probe/env"), 30_000);
    expect(env.status).toBe(200);
    const seen = parseProbeEnv(env.body.toString("latin1"));
    expect(seen.env.CONTENT_LENGTH).toBe(String(whole.length));
    expect(seen.stdin).toBe(whole.length);
  });

  test("three Set-Cookie fields stay three; Status: 201 Made keeps its reason phrase", async () => {
    const res = await fetch(`${p.url}/probe/cookies`);
    expect(res.status).toBe(201);
    expect(res.statusText).toBe("Made");
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2", "c=3"]);
    expect(res.headers.get("content-type")).toBe("text/plain");
    expect(await res.text()).toBe("cookies\n");
    // On the wire: the status line and three field lines.
    const ex = await exchange(portOf(p.url), buildRequest("GET", "/probe/cookies", [["Host", "x"], ["Connection", "close"]]));
    expect(ex.raw.toString("latin1")).toMatch(/^HTTP\/1\.1 201 Made\r\n/);
    expect(ex.answers).toHaveLength(1);
    expect(ex.answers[0]!.headers.filter(([n]) => n === "set-cookie").map(([, v]) => v)).toEqual(["a=1", "b=2", "c=3"]);
    expect(ex.answers[0]!.headers.some(([n]) => n === "status")).toBe(false);
  });

  test("a local redirect is served as a GET of the new location (RFC 3875 §6.2.2)", async () => {
    const res = await fetch(`${p.url}/probe/redirect?original=1`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "a body for the first request only",
      redirect: "manual",
    });
    const text = await res.text();
    expect(res.status, text.slice(0, 200)).toBe(200);
    expect(res.headers.get("location")).toBeNull();
    const seen = parseProbeEnv(text);
    expect(seen.env).toMatchObject({ REQUEST_METHOD: "GET", SCRIPT_NAME: "/probe", PATH_INFO: "/env", QUERY_STRING: "redirected=1" });
    expect(seen.env.CONTENT_LENGTH).toBeUndefined();
    expect(seen.env.CONTENT_TYPE).toBeUndefined();
    expect(seen.stdin).toBe(0);
  });

  test("HEAD: the module's status and fields, no body", async () => {
    const res = await rawRequest(portOf(p.url), buildRequest("HEAD", "/probe/env", [["Host", "x"], ["Connection", "close"]]));
    expect(res.status).toBe(200);
    expect(res.headers).toContainEqual(["content-type", "text/plain"]);
    expect(res.body.length).toBe(0);
    const cookies = await fetch(`${p.url}/probe/cookies`, { method: "HEAD" });
    expect(cookies.status).toBe(201);
    expect(cookies.headers.getSetCookie()).toEqual(["a=1", "b=2", "c=3"]);
    expect(await cookies.text()).toBe("");
    await stillServes(p);
  });

  test("a module's own 404 is passed on", async () => {
    const answer = await request(`${p.url}/probe/no-such-probe`);
    expect(answer.status).toBe(404);
    expect(answer.body).toBe("no such probe\n");
  });

  test("a second route with another module", async () => {
    const answer = await request(`${p.url}/hello`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("Hello, world!\n");
  });

  test("no host file is reachable: every path is refused", async () => {
    const answer = await request(`${p.url}/probe/files`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(
      ["/etc/passwd", "../../etc/passwd", "etc/passwd", "."].map((path) => `${path}: Capabilities insufficient\n`).join(""),
    );
    expect(answer.body).not.toContain("OPENED");
    expect(answer.body).not.toContain("root:");
  });

  test("stderr goes to the error log, in a line naming the route and the script; the answer is 200", async () => {
    const answer = await request(`${p.url}/probe/stderr`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("ok\n");
    const line = await logLine(p, /a line for the log/);
    expect(line).toBeDefined();
    expect(line).toContain("routes[0] (wasi /probe/*)");
    expect(line).toContain("/probe: stderr: a line for the log");
    // Only the error log: nothing of stderr in the answer.
    expect(answer.body).not.toContain("a line for the log");
  });

  test("exit status 3 before any output -> 502, the log gives the status", async () => {
    expectGatewayAnswer(await request(`${p.url}/probe/exit3`), 502);
    expect(await logLine(p, /status 3\b/)).toBeDefined();
    await stillServes(p);
  });

  test("a trap -> 500, the log says why; the next requests are answered", async () => {
    for (let i = 0; i < 3; i++) {
      expectGatewayAnswer(await request(`${p.url}/probe/trap`), 500);
      await stillServes(p);
    }
    expect(await logLine(p, /crashed: unreachable/)).toBeDefined();
    // Traps and normal requests side by side, on both threads.
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => request(`${p.url}/probe/${i % 2 ? "trap" : "env"}`)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 ? 500 : 200)));
  });
});

// ---------------------------------------------------------------------------

describe("faults and limits", () => {
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(options: Options = {}): Promise<RunningPostern> {
    const postern = await startPostern(route(options));
    cleanups.push(() => postern.stop());
    return postern;
  }

  test("an endless loop -> 504 after timeout; meanwhile the other thread answers; then requests still work", async () => {
    const p = await start({ timeout: "5s", threads: 2 });
    let loopDone = false;
    const loop = request(`${p.url}/probe/loop`).finally(() => (loopDone = true));
    await sleep(300); // the loop has its thread by now
    for (let i = 0; i < 5; i++) {
      const seen = await probeEnv(`${p.url}/probe/env?during=${i}`);
      expect(seen.env.QUERY_STRING).toBe(`during=${i}`);
    }
    expect(loopDone, "the requests were answered while the loop ran").toBe(false);
    expectGatewayAnswer(await loop, 504);
    expect(await logLine(p, /TIMEOUT/)).toBeDefined();
    // The looping thread was replaced: both threads serve.
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => request(`${p.url}/probe/env?after=${i}`)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    await stillServes(p);
  });

  test("two endless loops take both threads -> 504 each; both threads are replaced", async () => {
    const p = await start({ timeout: "2s", threads: 2 });
    const started = Date.now();
    const loops = await Promise.all([request(`${p.url}/probe/loop?a`), request(`${p.url}/probe/loop?b`)]);
    for (const answer of loops) expectGatewayAnswer(answer, 504);
    expect(Date.now() - started, "well before the client's own limit").toBeLessThan(25_000);
    // Were a thread still spinning, a request given to it would wait for the next timeout.
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([request(`${p.url}/probe/env`), request(`${p.url}/probe/env`)]);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
    }
    // And the new threads run loops and time them out as the first ones did.
    const again = request(`${p.url}/probe/loop?c`);
    await stillServes(p);
    expectGatewayAnswer(await again, 504);
    await stillServes(p);
  });

  test("a client that leaves during an endless loop frees its thread (threads = 1)", async () => {
    const p = await start({ timeout: "60s", threads: 1 });
    const controller = new AbortController();
    const gone = fetch(`${p.url}/probe/loop`, { signal: controller.signal }).catch((err: Error) => err);
    await sleep(300);
    controller.abort();
    expect(await gone).toBeInstanceOf(Error);
    // The one thread is free again well before the 60 s timeout.
    const answer = await request(`${p.url}/probe/env`, { signal: AbortSignal.timeout(20_000) });
    expect(answer.status).toBe(200);
    await stillServes(p);
  });

  test("threads = 1, max_queue = 0: a request while a loop runs -> 503 with Retry-After; then served again", async () => {
    const p = await start({ timeout: "2s", threads: 1, max_queue: 0 });
    const loop = request(`${p.url}/probe/loop`);
    await sleep(300);
    const refused = await request(`${p.url}/probe/env`);
    expectGatewayAnswer(refused, 503);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expectGatewayAnswer(await loop, 504);
    await stillServes(p);
  });

  test("memory past max_memory: malloc fails inside the module, below the cap; the gateway keeps serving", async () => {
    const p = await start({ max_memory: "64m", timeout: "60s" });
    for (let i = 0; i < 2; i++) {
      const answer = await request(`${p.url}/probe/grow`);
      expect(answer.status, answer.body).toBe(200);
      const match = /^malloc failed after (\d+) MiB\n$/.exec(answer.body);
      expect(match, answer.body).not.toBeNull();
      const mib = Number(match![1]);
      expect(mib).toBeLessThan(64);
      // It really grew up to near the cap (each request a fresh instance: the same room again).
      expect(mib).toBeGreaterThanOrEqual(32);
      await stillServes(p);
    }
  });

  test("a smaller max_memory is a smaller cap", async () => {
    const p = await start({ max_memory: "8m", timeout: "60s" });
    const answer = await request(`${p.url}/probe/grow`);
    expect(answer.status).toBe(200);
    const mib = Number(/^malloc failed after (\d+) MiB\n$/.exec(answer.body)?.[1] ?? NaN);
    expect(mib).toBeLessThan(8);
    await stillServes(p);
  });

  test("max_output = 1m: endless output is cut, never passed off as complete", async () => {
    const p = await start({ max_output: "1m", timeout: "60s" });
    const { raw } = await rawUntilClose(portOf(p.url), buildRequest("GET", "/probe/flood", [["Host", "x"], ["Connection", "close"]]));
    const text = raw.toString("latin1");
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    const headEnd = text.indexOf("\r\n\r\n");
    const head = text.slice(0, headEnd).toLowerCase();
    // Chunked (no length known): the last chunk never comes. With a length it would be short of it.
    if (head.includes("transfer-encoding: chunked")) {
      expect(text.endsWith("\r\n0\r\n\r\n"), "a last chunk after a cut answer").toBe(false);
    } else {
      const length = /content-length: (\d+)/.exec(head);
      if (length) expect(raw.length - headEnd - 4).toBeLessThan(Number(length[1]));
    }
    // No more than max_output reached the client.
    expect(raw.length - headEnd - 4).toBeLessThan(1 * MiB + 64 * KiB);
    // The error log says why the answer stopped.
    expect(p.errors.some((line) => line.includes("answer cut short") && line.includes("max_output"))).toBe(true);
    await stillServes(p);
  });

  test("timeout while the answer streams: it is cut, not complete; the next request is answered", async () => {
    // max_output far beyond what 2 s of output can reach: the cut is the timeout's.
    const p = await start({ timeout: "2s", threads: 1, max_output: "1024g" });
    for (let i = 0; i < 3; i++) {
      const { res } = await open(`${p.url}/probe/flood?${i}`);
      expect(res.statusCode).toBe(200);
      const ended = await new Promise<"end" | "aborted">((resolve) => {
        res.on("data", () => undefined);
        res.once("end", () => resolve("end"));
        res.once("aborted", () => resolve("aborted"));
        res.once("error", () => resolve("aborted"));
        res.once("close", () => resolve(res.complete ? "end" : "aborted"));
      });
      expect(ended).toBe("aborted");
      await stillServes(p);
    }
  });

  test("a client that leaves mid-answer stops the module: with one thread, the next request is served, and only its own output", async () => {
    const p = await start({ timeout: "120s", threads: 1 });
    const failures: string[] = [];
    for (let i = 0; i < 10; i++) {
      const { req, res } = await open(`${p.url}/probe/flood?${i}`);
      expect(res.statusCode).toBe(200);
      await new Promise((resolve) => res.once("data", resolve));
      if (i % 2 === 1) {
        // A client that stops reading for a while before it leaves.
        res.pause();
        await sleep(200);
      }
      req.destroy();
      // Served well before the 120 s timeout: the flood's thread is free again.
      const answer = await request(`${p.url}/probe/env?after=${i}`, { signal: AbortSignal.timeout(20_000) });
      const clean = answer.status === 200 && answer.body.startsWith("argv[0]=/probe\n") && !answer.body.includes("xxxx");
      if (!clean) failures.push(`#${i}: ${answer.status} ${JSON.stringify(answer.body.slice(0, 60))}`);
    }
    expect(failures, `error log: ${p.errors.join("\n")}`).toEqual([]);
  });

  test("after a client left mid-answer, the next request's body reaches its own run whole (threads = 1)", async () => {
    const p = await start({ timeout: "120s", threads: 1 });
    const failures: string[] = [];
    for (let i = 0; i < 10; i++) {
      const { req, res } = await open(`${p.url}/probe/flood?${i}`);
      await new Promise((resolve) => res.once("data", resolve));
      req.destroy();
      const body = randomBytes(256 * KiB);
      const echo = await fetch(`${p.url}/probe/echo`, { method: "POST", body, signal: AbortSignal.timeout(20_000) });
      const echoed = Buffer.from(await echo.arrayBuffer());
      if (echo.status !== 200 || md5(echoed) !== md5(body)) failures.push(`#${i}: ${echo.status}, ${echoed.length} bytes, ${firstDifference(body, echoed)}`);
    }
    expect(failures, `error log: ${p.errors.join("\n")}`).toEqual([]);
  });

  test(
    "endless output to a client that pauses: RSS stays bounded, the module waits on backpressure, and stops with the connection",
    async () => {
      const p = await start({ timeout: "120s", threads: 1, max_output: "2g" });

      // Warm up: the first big answer settles the allocator and the JIT.
      expect(await download(`${p.url}/probe/flood?warm`, 64 * MiB)).toBeGreaterThanOrEqual(64 * MiB);
      await stillServes(p);

      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 20);
      let pause: { cpuMs: number; wallMs: number } | undefined;
      try {
        const received = await download(`${p.url}/probe/flood?big`, 1024 * MiB, 32 * MiB, async () => {
          // The buffers on the way fill up; then, were the module not blocked, it would spin
          // (or pile up output): this process's CPU time over a quiet stretch tells.
          await sleep(500);
          const cpu = process.cpuUsage();
          const t0 = performance.now();
          await sleep(1_500);
          const used = process.cpuUsage(cpu);
          pause = { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - t0 };
        });
        expect(received).toBeGreaterThanOrEqual(1024 * MiB);
      } finally {
        clearInterval(sampler);
      }
      peak = Math.max(peak, process.memoryUsage().rss);
      expect((peak - baseline) / MiB, `RSS from ${Math.round(baseline / MiB)} MiB to a peak of ${Math.round(peak / MiB)} MiB`).toBeLessThan(64);
      // While the client read nothing the module could write nothing: it waited, using no CPU.
      expect(pause!.cpuMs / pause!.wallMs, JSON.stringify(pause)).toBeLessThan(0.5);
      // The client is gone: so is the module. With one thread, the next request proves it.
      const answer = await request(`${p.url}/probe/env`, { signal: AbortSignal.timeout(20_000) });
      expect(answer.status).toBe(200);
      await stillServes(p);
    },
    LONG,
  );

  test("a body over max_body_size -> 413; without request_buffering, a chunked one over max_buffered_body -> 413", async () => {
    const p = await start({ max_body_size: "1k", max_buffered_body: "1k", request_buffering: false });
    expectGatewayAnswer(await request(`${p.url}/probe/env`, { method: "POST", body: "a".repeat(4 * KiB) }), 413);
    const chunked = buildRequest(
      "POST",
      "/probe/env",
      [["Host", "x"], ["Transfer-Encoding", "chunked"], ["Connection", "close"]],
      `${(800).toString(16)}\r\n${"a".repeat(800)}\r\n${(800).toString(16)}\r\n${"a".repeat(800)}\r\n0\r\n\r\n`,
    );
    expect((await rawRequest(portOf(p.url), chunked)).status).toBe(413);
    const small = await probeEnv(`${p.url}/probe/env`, { method: "POST", body: "a".repeat(500) });
    expect(small.stdin).toBe(500);
  });

  test("max_stderr = 5: the log keeps 5 bytes of stderr", async () => {
    const p = await start({ max_stderr: 5 });
    expect((await request(`${p.url}/probe/stderr`)).status).toBe(200);
    const line = await logLine(p, /stderr:/);
    expect(line).toMatch(/stderr: a lin, client: /);
  });

  test("the argv key replaces the default arguments", async () => {
    const p = await start({ threads: 1 });
    expect((await probeEnv(`${p.url}/probe/env`)).argv).toEqual(["/probe"]);
    const q = await startPostern(route({ threads: 1 }, [`argv = ["prog", "-x", "two words"]`]));
    cleanups.push(() => q.stop());
    expect((await probeEnv(`${q.url}/probe/env?-s`)).argv).toEqual(["prog", "-x", "two words"]);
  });
});

// ---------------------------------------------------------------------------

describe("modules refused at startup", () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "postern-wasi-"));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, bytes: Uint8Array): string {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  }

  /** Starts postern with one wasi route; a start that unexpectedly succeeds is stopped. */
  async function startError(options: Options): Promise<Error> {
    let postern: RunningPostern | undefined;
    try {
      postern = await startPostern(route({ threads: 1, ...options }));
    } catch (err) {
      return err as Error;
    }
    await postern.stop();
    throw new Error("postern started");
  }

  test("a module file that does not exist", async () => {
    const missing = join(dir, "missing.wasm");
    const err = await startError({ module: missing });
    expect(err.message).toContain(`module: ${JSON.stringify(missing)} does not exist`);
  });

  test("a file that is not WebAssembly", async () => {
    const err = await startError({ module: write("text.wasm", new TextEncoder().encode("#!/bin/sh\necho hi\n")) });
    expect(err.message).toContain("text.wasm");
  });

  test("a module whose initial memory is over max_memory (hand-made)", async () => {
    const path = write("two-pages.wasm", buildModule({ memory: { min: 2 } }));
    const err = await startError({ module: path, max_memory: "64k" });
    expect(err.message).toMatch(/max_memory/);
    // Within the limit the same module is accepted (and, printing nothing, answered 502).
    const p = await startPostern(route({ module: path, max_memory: "128k", threads: 1 }));
    try {
      expectGatewayAnswer(await request(`${p.url}/probe/x`), 502);
    } finally {
      await p.stop();
    }
  });

  test.skipIf(!CLANG)("a module whose initial memory is over max_memory (clang --initial-memory)", async () => {
    const path = join(dir, "big-memory.wasm");
    execFileSync(CLANG!, ["--target=wasm32-wasi", "-O2", "-Wl,--initial-memory=33554432", "-o", path, HELLO_SOURCE], { stdio: "pipe", timeout: 60_000 });
    const err = await startError({ module: path, max_memory: "16m" });
    expect(err.message).toMatch(/max_memory/);
    expect(err.message).toContain("33554432");
    const p = await startPostern(route({ module: path, max_memory: "64m", threads: 1 }));
    try {
      const answer = await request(`${p.url}/probe/x`);
      expect(answer.status).toBe(200);
      expect(answer.body).toBe("Hello, world!\n");
    } finally {
      await p.stop();
    }
  });

  test("a module importing a function from outside WASI preview1", async () => {
    const path = write("host-import.wasm", buildModule({ memory: { min: 1 }, imports: [["env", "read_host_file"]] }));
    const err = await startError({ module: path });
    expect(err.message).toMatch(/env\.read_host_file/);
    expect(err.message).toMatch(/only WASI preview1/);
  });

  test("a module importing preview1 functions alongside another module's", async () => {
    const path = write(
      "mixed-import.wasm",
      buildModule({ memory: { min: 1 }, imports: [["wasi_snapshot_preview1", "fd_write"], ["wasi_unstable", "fd_write"]] }),
    );
    const err = await startError({ module: path });
    expect(err.message).toMatch(/wasi_unstable\.fd_write/);
  });

  test("a module that exports no memory", async () => {
    const err = await startError({ module: write("no-memory-export.wasm", buildModule({ memory: { min: 1 }, exportMemory: false })) });
    expect(err.message).toMatch(/exports no memory/);
    const none = await startError({ module: write("no-memory.wasm", buildModule({})) });
    expect(none.message).toMatch(/exports no memory/);
  });

  test("a module without its entrypoint; the entrypoint key names another", async () => {
    const path = write("main-entry.wasm", buildModule({ memory: { min: 1 }, entry: "main" }));
    const err = await startError({ module: path });
    expect(err.message).toMatch(/"_start"/);
    const p = await startPostern(route({ module: path, entrypoint: "main", threads: 1 }));
    try {
      // It runs, and prints no header: 502.
      expectGatewayAnswer(await request(`${p.url}/probe/x`), 502);
      expect(await logLine(p, /BACKEND_MALFORMED: .*(empty response|end of output)/)).toBeDefined();
    } finally {
      await p.stop();
    }
  });
});

describe("volumes: read-only directories for the module", () => {
  const dir = mkdtempSync(join(tmpdir(), "postern-wasi-volume-"));
  mkdirSync(join(dir, "data", "sub"), { recursive: true });
  writeFileSync(join(dir, "data", "hello.txt"), "hello from the volume\n");
  writeFileSync(join(dir, "data", "sub", "x.txt"), "x\n");
  writeFileSync(join(dir, "secret"), "outside\n");
  symlinkSync("/etc/passwd", join(dir, "data", "passwd-link"));
  symlinkSync(join(dir, "secret"), join(dir, "data", "secret-link"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const toml = (extra: string) =>
    `[[routes]]\npath = "/probe/*"\ngateway = "wasi"\nmodule = "${PROBE}"\nvolumes = { "/data" = "${join(dir, "data")}" }\n${extra}`;

  test("the module reads and lists its volume; nothing outside it, no symlink out, no writing", async () => {
    const p = await startPostern(toml(""));
    try {
      const text = await (await fetch(`${p.url}/probe/volume`)).text();
      expect(text).toContain("hello.txt: hello from the volume\n");
      const entries = [...text.matchAll(/^entry: (.*)$/gm)].map((m) => m[1]);
      // The symlinks leave the directory: they are not in the module's view at all.
      expect(entries.sort()).toEqual(["hello.txt", "sub"]);
      for (const path of ["/data/../../etc/passwd", "/data/../secret", "/etc/passwd", "/data/sub/../../x"]) {
        expect(text).toContain(`${path}: Capabilities insufficient\n`);
      }
      expect(text).toContain("write: Read-only file system\n");
      expect(text).not.toContain("OPENED");
    } finally {
      await p.stop();
    }
  });

  test("a relative guest path is a config error naming it", async () => {
    await expect(startPostern(`[[routes]]\npath = "/p/*"\ngateway = "wasi"\nmodule = "${PROBE}"\nvolumes = { "data" = "${dir}" }\n`)).rejects.toThrow(
      /volumes\.data.*absolute/,
    );
  });

  test("a host directory that does not exist, or volumes over max_volume_size, stop the route's setup", async () => {
    await expect(startPostern(`[[routes]]\npath = "/p/*"\ngateway = "wasi"\nmodule = "${PROBE}"\nvolumes = { "/d" = "${dir}/missing" }\n`)).rejects.toThrow(
      /does not exist/,
    );
    await expect(startPostern(toml('max_volume_size = "8"\n'))).rejects.toThrow(/volume size limit/);
  });
});

describe("streaming while a module computes", () => {
  const dir = mkdtempSync(join(tmpdir(), "postern-wasi-flush-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.skipIf(!CLANG)("output the module flushed reaches the client before the module's next write or its end", async () => {
    const source = join(dir, "slow.c");
    writeFileSync(
      source,
      `#include <stdio.h>
#include <time.h>
int main(void) {
  printf("Content-Type: text/plain\\r\\n\\r\\nstarted\\n");
  fflush(stdout);
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do clock_gettime(CLOCK_MONOTONIC, &now); while (now.tv_sec - start.tv_sec < 2);
  printf("done\\n");
  return 0;
}
`,
    );
    const module = join(dir, "slow.wasm");
    execFileSync(CLANG!, ["--target=wasm32-wasi", "-O2", "-o", module, source], { stdio: "pipe", timeout: 60_000 });
    const p = await startPostern(`[[routes]]\npath = "/slow/*"\ngateway = "wasi"\nmodule = "${module}"\ntimeout = "20s"\n`);
    try {
      const started = Date.now();
      const res = await fetch(`${p.url}/slow/`);
      const reader = res.body!.getReader();
      const first = await reader.read();
      const firstAt = Date.now() - started;
      expect(new TextDecoder().decode(first.value)).toBe("started\n");
      let rest = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
      const endAt = Date.now() - started;
      expect(rest).toBe("done\n");
      // The module computed for 2 s between its two writes: the first came well before.
      expect(endAt - firstAt).toBeGreaterThan(1_000);
    } finally {
      await p.stop();
    }
  });
});
