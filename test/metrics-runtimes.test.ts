// [metrics] and [status] of postern's CLI on Node, Deno and Bun: the
// Prometheus text read by a real parser (helpers/metrics-prometheus.ts)
// while a real php-fpm, a php-cgi postern supervises, CGI scripts and a WASI
// module serve; who is let in by CIDR, as trusted proxies make the client out.

import { chmodSync, mkdtempSync, rmSync } from "node:fs";
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
const PHP_ROUTE = "routes[1] (fastcgi /php/*)";
const CGI_ROUTE = "routes[2] (cgi /cgi/*)";
const WASI_ROUTE = "routes[3] (wasi /probe/*)";

function config(phpPort: number): string {
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
    server = await serveRoutes({ name: runtime, runtime, command: POSTERN_CLI[runtime] }, config(fpm.port), tmpDir);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await fpm?.stop();
    rmSync(tmpDir, { recursive: true, force: true });
  });

  test("the metrics parse, with every route's backends, threads and programs, and the process", async () => {
    for (const path of ["/php/hello.php", "/php/env.php", "/cgi/echo.sh", "/probe/env"]) expect((await get(server.url + path)).status).toBe(200);
    const answer = await get(`${server.url}/metrics`, ALLOWED);
    expect(answer.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheus(answer.text);
    const backend = `127.0.0.1:${fpm.port}`;
    expect(sampleValue(families, "postern_backend_up", { route: PHP_ROUTE, backend })).toBe(1);
    // The request is over; its connection is kept alive, or closed: never in use.
    expect(sampleValue(families, "postern_backend_connections", { route: PHP_ROUTE, backend, state: "in_use" })).toBe(0);
    expect(sampleValue(families, "postern_backend_connections", { route: PHP_ROUTE, backend, state: "idle" })).toBeGreaterThanOrEqual(0);
    expect(sampleValue(families, "postern_workers", { route: SPAWNED_ROUTE })).toBe(1);
    expect(sampleValue(families, "postern_cgi_processes", { route: CGI_ROUTE })).toBe(0);
    expect(sampleValue(families, "postern_wasi_threads", { route: WASI_ROUTE, state: "idle" })).toBe(2);
    const started = sampleValue(families, "process_start_time_seconds")!;
    expect(started).toBeLessThanOrEqual(Date.now() / 1000);
    expect(started).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(sampleValue(families, "process_resident_memory_bytes")).toBeGreaterThan(1024 * 1024);
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
