// postern's listen addresses on each runtime: a unix socket where a socket
// file left by a server that died is in the way (replaced, not an "address
// in use"), where a live server listens (left to it, startup refused, as
// nginx's EADDRINUSE), where any other file is (left alone, startup
// refused), and an IPv6 address answering HTTP/1.0 without Host (its
// authority is the bracketed address).

import { execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { spawnPostern, type CliRuntime } from "../helpers/postern-cli.ts";
import { freePort } from "../helpers/ports.ts";
import { stopProcessGroup } from "../helpers/server-process.ts";
import { PUBLIC } from "./suite.ts";

const RUNTIMES: CliRuntime[] = ["node", "deno", "bun"];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `postern serve` on `runtime` with the demo's static files at every path, listening on `listen`. */
function start(runtime: CliRuntime, listen: string, dir: string): { proc: ChildProcess; log: () => string } {
  writeFileSync(join(dir, "postern.toml"), `listen = [${JSON.stringify(listen)}]\naccess_log = false\n[[routes]]\npath = "*"\ngateway = "static"\nroot = ${JSON.stringify(PUBLIC)}\n`);
  const started = spawnPostern(runtime, ["serve", "--config", join(dir, "postern.toml")]);
  cleanups.push(() => stopProcessGroup(started.proc, "SIGTERM"));
  return started;
}

function tempDir(runtime: CliRuntime): string {
  const dir = mkdtempSync(join(tmpdir(), `postern-listen-${runtime}-`));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** GET `path` over the unix socket; the status, or null while nothing answers there. */
function getOverSocket(socketPath: string, path: string): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, headers: { host: "localhost" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", () => resolve(null));
    req.end();
  });
}

/** Sends `raw` to [::1]:port and reads until the server closes; null while nothing listens. */
function exchangeIpv6(port: number, raw: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: "::1", port });
    let text = "";
    socket.setEncoding("latin1");
    socket.on("connect", () => socket.write(raw));
    socket.on("data", (d: string) => (text += d));
    socket.on("error", () => resolve(null));
    socket.on("close", () => resolve(text));
  });
}

/** Retries `attempt` until it gives an answer, the server exits, or 20 s pass. */
async function firstAnswer<T>(proc: ChildProcess, attempt: () => Promise<T | null>): Promise<T | null> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline && proc.exitCode === null; ) {
    const answer = await attempt();
    if (answer) return answer;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return null;
}

const ipv6 = await new Promise<boolean>((resolve) => {
  const server = createServer();
  server.once("error", () => resolve(false));
  server.listen(0, "::1", () => server.close(() => resolve(true)));
});

test.each(RUNTIMES)("on %s, a socket file left by a server that died is replaced", async (runtime) => {
  const dir = tempDir(runtime);
  const socket = join(dir, "postern.sock");
  // Bound and never listened on or removed: what a server killed with SIGKILL leaves.
  execFileSync("python3", ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", socket]);
  const { proc, log } = start(runtime, `unix:${socket}`, dir);
  const answer = await firstAnswer(proc, () => getOverSocket(socket, "/index.html"));
  expect(answer, log()).not.toBeNull();
  expect(answer!.status).toBe(200);
  expect(answer!.body).toContain("<title>postern demo</title>");
}, 60_000);

/** Resolves with the exit code of `proc`, or null if it still runs after 20 s. */
function exitOf(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    proc.once("exit", resolve);
    setTimeout(() => resolve(null), 20_000);
  });
}

/** What a connection to the unix socket at `path` is sent before the server closes it; null when nothing accepts. */
function greeting(path: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (text += d));
    socket.on("error", () => resolve(null));
    socket.on("close", () => resolve(text));
  });
}

test.each(RUNTIMES)("on %s, a socket a live server listens on is left to it, and startup is refused naming it", async (runtime) => {
  const dir = tempDir(runtime);
  const path = join(dir, "postern.sock");
  // postern's probe connects and hangs up at once: that connection's reset is expected.
  const live = createServer((socket) => socket.on("error", () => undefined).end("still mine\n"));
  await new Promise<void>((resolve) => live.listen(path, resolve));
  cleanups.push(() => new Promise((resolve) => live.close(() => resolve())));
  const { proc, log } = start(runtime, `unix:${path}`, dir);
  const code = await exitOf(proc);
  expect(code, log()).not.toBe(0);
  expect(log()).toContain(`cannot listen on unix:${path}: another server is listening there`);
  expect(await greeting(path)).toBe("still mine\n");
}, 60_000);

test.each(RUNTIMES)("on %s, a file that is not a socket where the socket goes is left alone, and startup is refused naming it", async (runtime) => {
  const dir = tempDir(runtime);
  const path = join(dir, "postern.sock");
  writeFileSync(path, "somebody's data");
  const { proc, log } = start(runtime, `unix:${path}`, dir);
  const code = await exitOf(proc);
  expect(code, log()).not.toBe(0);
  expect(log()).toContain(`cannot listen on unix:${path}: a file that is not a socket is there`);
  expect(readFileSync(path, "utf8")).toBe("somebody's data");
}, 60_000);

test.skipIf(!ipv6).each(RUNTIMES)("on %s, an IPv6 address answers HTTP/1.0 without Host", async (runtime) => {
  const port = await freePort();
  const { proc, log } = start(runtime, `[::1]:${port}`, tempDir(runtime));
  const answer = await firstAnswer(proc, () => exchangeIpv6(port, "GET /index.html HTTP/1.0\r\n\r\n"));
  expect(answer, log()).not.toBeNull();
  expect(answer!.split("\r\n")[0]).toMatch(/^HTTP\/1\.[01] 200 /);
  expect(answer).toContain("<title>postern demo</title>");
}, 60_000);
