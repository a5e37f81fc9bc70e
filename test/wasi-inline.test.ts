// The WASI gateway on a runtime without threads (workerd has none): each
// module runs on the calling thread (gateways/wasi/inline.ts), its body
// taken whole first, its output passed on when it ends. The Node runtime
// with its threads taken away, the example probe module, through a hono app.

import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createGateway } from "../gateways/index.ts";
import type { GatewayHandler } from "../gateways/handler.ts";
import type { Runtime } from "../src/runtime.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";

const PROBE = join(import.meta.dirname, "../examples/wasi/probe.wasm");
const MiB = 1024 * 1024;
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");
/** A POST as a client sends it: with its Content-Length (a Request made here has none, and so, per RFC 9112 §6.3, no body). */
const post = (body: Uint8Array<ArrayBuffer> | string): RequestInit => ({ method: "POST", body, headers: { "content-length": String(Buffer.byteLength(body)) } });

describe("a wasi route on a runtime without threads", () => {
  const errors: string[] = [];
  const { startWorker: _threads, ...withoutThreads } = nodeRuntime;
  const runtime: Runtime = { ...withoutThreads, logError: (line) => errors.push(line), logAccess: () => undefined };
  let handler: GatewayHandler;
  let cut: GatewayHandler;
  const app = new Hono();

  beforeAll(async () => {
    // threads bounds the runs at once here too: 4, fewer than the 5 failing requests of the slot test.
    handler = createGateway("wasi", runtime, { module: PROBE, max_buffered_body: "4m", threads: 4 });
    cut = createGateway("wasi", runtime, { module: PROBE, max_output: "1m" });
    await Promise.all([handler.ready, cut.ready]);
    app.all("/probe/*", handler).all("/cut/*", cut);
  });

  afterAll(async () => {
    await Promise.all([handler?.close(), cut?.close()]);
  });

  test("the CGI variables and arguments, and stdin's length", async () => {
    const res = await app.request("http://localhost/probe/env?x=1", post("12345"));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("argv[0]=/probe\n");
    expect(text).toContain("env:QUERY_STRING=x=1\n");
    expect(text).toContain("env:PATH_INFO=/env\n");
    expect(text).toContain("stdin=5\n");
  });

  test("3 MiB echoed byte for byte", async () => {
    const body = randomBytes(3 * MiB);
    const res = await app.request("http://localhost/probe/echo", post(body));
    expect(md5(new Uint8Array(await res.arrayBuffer()))).toBe(md5(body));
  });

  test("a body over max_buffered_body: 413, the module never runs", async () => {
    const res = await app.request("http://localhost/probe/echo", post(randomBytes(5 * MiB)));
    expect(res.status).toBe(413);
  });

  test("a status and three Set-Cookie fields", async () => {
    const res = await app.request("http://localhost/probe/cookies");
    expect(res.status).toBe(201);
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2", "c=3"]);
  });

  test("a trap: 500; exit 3: 502; then the route answers on", async () => {
    expect((await app.request("http://localhost/probe/trap")).status).toBe(500);
    expect((await app.request("http://localhost/probe/exit3")).status).toBe(502);
    expect((await app.request("http://localhost/probe/env")).status).toBe(200);
  });

  test("output past max_output is cut, never passed off as complete", async () => {
    const res = await app.request("http://localhost/cut/flood");
    expect(res.status).toBe(500);
    expect(errors.some((line) => line.includes("max_output"))).toBe(true);
  });

  test("a run that cannot even start (arguments and environment over 256 KiB): 500, and its slot is free again", async () => {
    const huge = { "x-huge": "h".repeat(300 * 1024) };
    for (let i = 0; i < 5; i++) expect((await app.request("http://localhost/probe/env", { headers: huge })).status).toBe(500);
    expect((await app.request("http://localhost/probe/env")).status).toBe(200);
  });

  test("each run starts from a wiped memory: 20 runs in a row see only their own request", async () => {
    for (let i = 0; i < 20; i++) {
      const text = await (await app.request(`http://localhost/probe/env?run=${i}`)).text();
      expect(text.match(/env:QUERY_STRING=.*/g)).toEqual([`env:QUERY_STRING=run=${i}`]);
    }
  });
});
