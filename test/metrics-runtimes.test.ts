// [metrics] and [status] of postern's CLI on Node, Deno and Bun: the
// Prometheus text read by a real parser (helpers/metrics-prometheus.ts)
// while a real php-fpm, a php-cgi postern supervises, CGI scripts and a WASI
// module serve; who is let in by CIDR, as trusted proxies make the client out.

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { parsePrometheus, prometheusParser, sampleValue, type ParsedFamily } from "./helpers/metrics-prometheus.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { POSTERN_CLI, type CliRuntime } from "./helpers/postern-cli.ts";
import { serveRoutes } from "./conformance/process-target.ts";
import type { RunningTarget } from "./conformance/suite.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");
const PROBE = join(import.meta.dirname, "../examples/wasi/probe.wasm");
const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const PHP_CGI = requireBinary(["php-cgi"], "php-cgi");
/** A client the [metrics] allow list holds, as a trusted proxy (loopback) forwards it. */
const ALLOWED = { "x-forwarded-for": "10.1.2.3" };

const SPAWNED_ROUTE = "routes[0] (fastcgi /php/env.php)";
const ONE_ROUTE = "routes[1] (fastcgi /php/sleep.php)";
const PHP_ROUTE = "routes[2] (fastcgi /php/*)";
const CGI_ROUTE = "routes[3] (cgi /cgi/*)";
const WASI_ROUTE = "routes[4] (wasi /probe/*)";
const PROXY_ROUTE = "routes[5] (proxy /proxied/*)";

function config(phpPort: number, httpPort: number): string {
  return `trusted_proxies = ["127.0.0.1"]
[metrics]
allow = ["10.0.0.0/8"]
[status]
[[routes]]
path = "/php/env.php"
gateway = "fastcgi"
root = ${JSON.stringify(FIXTURES)}
spawn = { command = [${JSON.stringify(PHP_CGI)}] }
[[routes]]
path = "/php/sleep.php"
gateway = "fastcgi"
backend = "127.0.0.1:${phpPort}"
root = ${JSON.stringify(FIXTURES)}
max_conns = 1
[[routes]]
path = "/php/*"
gateway = "fastcgi"
backend = "127.0.0.1:${phpPort}"
root = ${JSON.stringify(FIXTURES)}
[[routes]]
path = "/cgi/*"
gateway = "cgi"
root = ${JSON.stringify(FIXTURES)}
interpreters = { ".sh" = "sh" }
[[routes]]
path = "/probe/*"
gateway = "wasi"
module = ${JSON.stringify(PROBE)}
threads = 2
[[routes]]
path = "/proxied/*"
gateway = "proxy"
backend = "http://127.0.0.1:${httpPort}"
`;
}

async function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, { headers, method, signal: AbortSignal.timeout(30_000) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Waits until `check()` holds, every 100 ms; fails after 20 s naming `what`. */
async function until<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited 20 s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const RUNTIMES: CliRuntime[] = ["node", "deno", "bun"];

describe.skipIf(!PHP_FPM || !PHP_CGI || !prometheusParser).each(RUNTIMES)("[metrics] and [status] on %s", (runtime) => {
  let fpm: PhpFpm;
  let server: RunningTarget;
  let tmpDir: string;
  let http: Server;
  const metrics = async (): Promise<ParsedFamily[]> => {
    const answer = await get(`${server.url}/metrics`, ALLOWED);
    expect(answer.status).toBe(200);
    return parsePrometheus(answer.text);
  };

  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!);
    tmpDir = mkdtempSync(join(tmpdir(), "postern-metrics-"));
    // The php-cgi runs as nobody: its socket's directory is made in here.
    chmodSync(tmpDir, 0o711);
    // An HTTP backend for the proxy route.
    http = createServer((_, res) => res.end("proxied\n"));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const httpPort = (http.address() as { port: number }).port;
    server = await serveRoutes({ name: runtime, runtime, command: POSTERN_CLI[runtime] }, config(fpm.port, httpPort), tmpDir);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => http?.close(resolve));
    await fpm?.stop();
    rmSync(tmpDir, { recursive: true, force: true });
  });

  test("the metrics parse, with every route's backends, threads and programs, and the process", async () => {
    for (const path of ["/php/hello.php", "/php/env.php", "/cgi/echo.sh", "/probe/env", "/proxied/x"]) expect((await get(server.url + path)).status).toBe(200);
    const answer = await get(`${server.url}/metrics`, ALLOWED);
    expect(answer.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheus(answer.text);
    const backend = `127.0.0.1:${fpm.port}`;
    expect(sampleValue(families, "postern_backend_up", { route: PHP_ROUTE, backend })).toBe(1);
    // The request is over; its connection is kept alive, or closed: never in use.
    expect(sampleValue(families, "postern_backend_connections", { route: PHP_ROUTE, backend, state: "in_use" })).toBe(0);
    expect(sampleValue(families, "postern_backend_connections", { route: PHP_ROUTE, backend, state: "idle" })).toBeGreaterThanOrEqual(0);
    expect(sampleValue(families, "postern_workers", { route: SPAWNED_ROUTE })).toBe(1);
    expect(sampleValue(families, "postern_backend_up", { route: PROXY_ROUTE })).toBe(1);
    expect(sampleValue(families, "postern_cgi_processes", { route: CGI_ROUTE })).toBe(0);
    expect(sampleValue(families, "postern_wasi_threads", { route: WASI_ROUTE, state: "idle" })).toBe(2);
    const started = sampleValue(families, "process_start_time_seconds")!;
    expect(started).toBeLessThanOrEqual(Date.now() / 1000);
    expect(started).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(sampleValue(families, "process_resident_memory_bytes")).toBeGreaterThan(1024 * 1024);
  });

  test("requests are counted by route and status class, with their times and their backend's", async () => {
    const before = await metrics();
    const count = (families: ParsedFamily[], name: string, labels: Record<string, string>) => sampleValue(families, name, labels) ?? 0;
    for (let i = 0; i < 3; i++) expect((await get(`${server.url}/php/hello.php`)).status).toBe(200);
    expect((await get(`${server.url}/php/missing.php`)).status).toBe(404);
    expect((await get(`${server.url}/nowhere`)).status).toBe(404);
    const backend = `127.0.0.1:${fpm.port}`;
    // The record of a request is handed on once its answer is over: the last one may finish just after the client has it.
    const after = await until(async () => {
      const families = await metrics();
      return count(families, "postern_requests_total", { route: "(none)", code: "4xx" }) > count(before, "postern_requests_total", { route: "(none)", code: "4xx" }) ? families : undefined;
    }, "the requests to be counted");
    const grew = (name: string, labels: Record<string, string>) => count(after, name, labels) - count(before, name, labels);
    expect(grew("postern_requests_total", { route: PHP_ROUTE, code: "2xx" })).toBe(3);
    expect(grew("postern_requests_total", { route: PHP_ROUTE, code: "4xx" })).toBe(1);
    expect(grew("postern_request_duration_seconds_count", { route: PHP_ROUTE })).toBe(4);
    expect(grew("postern_request_duration_seconds_bucket", { route: PHP_ROUTE, le: "+Inf" })).toBe(4);
    expect(grew("postern_upstream_duration_seconds_count", { route: PHP_ROUTE, backend })).toBeGreaterThanOrEqual(3);
    const status = JSON.parse((await get(`${server.url}/server-status?json`)).text) as { routes: { name: string; requests: number; errors: number }[] };
    expect(status.routes.find((r) => r.name === PHP_ROUTE)!.requests).toBeGreaterThanOrEqual(5);
  });

  test("a request in flight holds a connection in use, and the next waits in the route's queue", async () => {
    const backend = `127.0.0.1:${fpm.port}`;
    // max_conns = 1: the second request waits for the first one's connection.
    const slow = [0, 1].map(() => get(`${server.url}/php/sleep.php?ms=5000`));
    const seen = await until(async () => {
      const families = await metrics();
      const inUse = sampleValue(families, "postern_backend_connections", { route: ONE_ROUTE, backend, state: "in_use" });
      const queued = sampleValue(families, "postern_route_queued_requests", { route: ONE_ROUTE });
      return inUse === 1 && queued === 1 ? { inUse, queued } : undefined;
    }, "one request in flight and one queued");
    expect(seen).toEqual({ inUse: 1, queued: 1 });
    for (const answer of await Promise.all(slow)) expect(answer.status).toBe(200);
    const after = await metrics();
    expect(sampleValue(after, "postern_route_queued_requests", { route: ONE_ROUTE })).toBe(0);
    expect(sampleValue(after, "postern_backend_connections", { route: ONE_ROUTE, backend, state: "in_use" })).toBe(0);
  });

  test("a CGI program running and a WASI thread computing are counted while they run", async () => {
    // flush-wait.sh runs until this file exists; the probe computes for 5 s.
    const release = join(tmpDir, `release-${runtime}`);
    const running = [get(`${server.url}/cgi/flush-wait.sh?${release}`), get(`${server.url}/probe/pause?5000`)];
    const seen = await until(async () => {
      const families = await metrics();
      const processes = sampleValue(families, "postern_cgi_processes", { route: CGI_ROUTE });
      const busy = sampleValue(families, "postern_wasi_threads", { route: WASI_ROUTE, state: "busy" });
      return processes === 1 && busy === 1 ? { processes, busy } : undefined;
    }, "the program and the thread at work");
    expect(seen).toEqual({ processes: 1, busy: 1 });
    writeFileSync(release, "");
    for (const answer of await Promise.all(running)) expect(answer.status).toBe(200);
    const after = await metrics();
    expect(sampleValue(after, "postern_cgi_processes", { route: CGI_ROUTE })).toBe(0);
    expect(sampleValue(after, "postern_wasi_threads", { route: WASI_ROUTE, state: "idle" })).toBe(2);
  });

  test("a supervised php-cgi killed is counted as a restart, and serves again", async () => {
    const pidOf = async () => {
      const status = JSON.parse((await get(`${server.url}/server-status?json`)).text) as { routes: { name: string; workers?: { pid?: number; up: boolean }[] }[] };
      const worker = status.routes.find((r) => r.name === SPAWNED_ROUTE)?.workers?.[0];
      return worker?.up ? worker.pid : undefined;
    };
    const pid = await until(pidOf, "the php-cgi to serve");
    process.kill(pid, "SIGKILL");
    const restarts = await until(async () => {
      const n = sampleValue(await metrics(), "postern_worker_restarts_total", { route: SPAWNED_ROUTE });
      return n !== undefined && n >= 1 ? n : undefined;
    }, "the restart to be counted");
    expect(restarts).toBe(1);
    expect(await until(async () => ((await pidOf()) !== pid ? await pidOf() : undefined), "a new php-cgi")).not.toBe(pid);
    expect((await get(`${server.url}/php/env.php`)).status).toBe(200);
  });

  test("only clients in allow are answered: 403 to the others, the client as trusted proxies make it out", async () => {
    // [metrics] allows 10.0.0.0/8 only: loopback itself is refused, a client a trusted proxy forwards from 10/8 is not.
    expect((await get(`${server.url}/metrics`)).status).toBe(403);
    expect((await get(`${server.url}/metrics`, { "x-forwarded-for": "192.0.2.7" })).status).toBe(403);
    expect((await get(`${server.url}/metrics`, { "x-forwarded-for": "10.200.0.1" })).status).toBe(200);
    // [status] allows loopback by default: a forwarded client from elsewhere is refused.
    expect((await get(`${server.url}/server-status`)).status).toBe(200);
    expect((await get(`${server.url}/server-status`, { "x-forwarded-for": "192.0.2.7" })).status).toBe(403);
    expect((await get(`${server.url}/server-status`, { "x-forwarded-for": "::1" })).status).toBe(200);
  });

  test("only GET and HEAD; a query string does not change the path, and the route below it is not the endpoint", async () => {
    const post = await get(`${server.url}/server-status`, {}, "POST");
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await get(`${server.url}/metrics?x=1`, ALLOWED)).status).toBe(200);
    expect((await get(`${server.url}/server-status/x`)).status).toBe(404);
  });
});
