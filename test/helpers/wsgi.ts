// postern serving a WSGI application through the adapter that ships with it
// (gateways/wsgi/adapter/postern_wsgi.py), for the PEP 3333 and adapter
// tests: the one place that says how such a route is configured, a
// `gateway = "wsgi"` route mounted at /py, and how the adapter is run alone.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import { startPostern } from "./postern.ts";
import { giveToScriptUser } from "./script-user.ts";

/** Debian's interpreter: its packages (Flask, Django) are seen only by it. */
export const PYTHON = "/usr/bin/python3";
export const ADAPTER = resolve("gateways/wsgi/adapter/postern_wsgi.py");
export const WSGI_FIXTURES = resolve("test/fixtures/wsgi");

export interface WsgiOptions {
  /** MODULE:APP, imported from test/fixtures/wsgi. */
  app: string;
  workers?: number;
  threads?: number;
  /** The workers' environment besides PATH. */
  env?: Record<string, string>;
  /** Extra keys of the route (postern.toml lines). */
  route?: string;
}

export interface WsgiServer {
  /** The URL of a request whose PATH_INFO is `pathInfo` (still URL-encoded, with its query). */
  url(pathInfo: string): string;
  /** What the application sees as SCRIPT_NAME. */
  scriptName: string;
  /** postern's error log, the workers' wsgi.errors included. */
  errors: string[];
  stop(): Promise<void>;
}

/** The route's mount point: SCRIPT_NAME. */
const MOUNT = "/py";

/** The route (postern.toml) that serves `options.app`, and what a request's URL path starts with. */
export function wsgiRoute(options: WsgiOptions): { toml: string; scriptName: string } {
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
  const toml = [
    "[[routes]]",
    `path = "${MOUNT}/*"`,
    'gateway = "wsgi"',
    `app = ${JSON.stringify(options.app)}`,
    `python = ${JSON.stringify(PYTHON)}`,
    `chdir = ${JSON.stringify(WSGI_FIXTURES)}`,
    `workers = ${options.workers ?? 1}`,
    `threads = ${options.threads ?? 1}`,
    `env = { ${env.join(", ")} }`,
    options.route ?? "",
  ].join("\n");
  return { toml, scriptName: MOUNT };
}

/** postern (Node, in this process) serving `options.app`, once a worker answers. */
export async function startWsgi(options: WsgiOptions): Promise<WsgiServer> {
  const route = wsgiRoute(options);
  const postern = await startPostern(route.toml);
  await untilServing(postern.url + route.scriptName);
  return {
    url: (pathInfo) => postern.url + route.scriptName + pathInfo,
    scriptName: route.scriptName,
    errors: postern.errors,
    async stop() {
      await postern.stop();
    },
  };
}

/** The adapter's command line (the contract in gateways/wsgi/adapter/postern_wsgi.py). */
export function adapterCommand(o: { app: string; socket: string; workers?: number; threads?: number }): string[] {
  return [
    PYTHON,
    ADAPTER,
    "--socket",
    o.socket,
    "--app",
    o.app,
    "--chdir",
    WSGI_FIXTURES,
    "--workers",
    String(o.workers ?? 1),
    "--threads",
    String(o.threads ?? 1),
  ];
}

/** The spawned workers come up after postern is ready: resolves once one answers `url`. */
export async function untilServing(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    await res?.arrayBuffer();
    if (res && res.status !== 503 && res.status !== 502) return;
    if (Date.now() > deadline) throw new Error(`the WSGI workers did not come up: last status ${res?.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The adapter run by itself, stdio piped, for the tests of its process life. */
export interface AdapterProcess {
  child: ChildProcess;
  socket: string;
  stderr(): string;
  exited: Promise<number | null>;
}

export function spawnAdapter(app: string, extraArgs: string[] = []): AdapterProcess {
  const dir = mkdtempSync(join(tmpdir(), "postern-adapter-"));
  const socket = join(dir, "worker.sock");
  const child = spawn(adapterCommand({ app, socket })[0]!, [...adapterCommand({ app, socket }).slice(1), ...extraArgs], {
    stdio: ["ignore", "ignore", "pipe"],
    // No __pycache__ left in the source tree by a test run as root.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PYTHONDONTWRITEBYTECODE: "1" },
  });
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  void exited.then(() => rmSync(dir, { recursive: true, force: true }));
  return { child, socket, stderr: () => err, exited };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it gives a truthy value, which it returns; throws after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | false | null, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The process exists and is not a zombie. */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/**
 * Requests the `slow` probe at `url` and checks that each of its chunks
 * reaches the client before the application may make the next: the probe
 * waits for the number in `gate` (a file the workers can read) to reach
 * the chunk's index, and this raises it only once the chunk is in.
 */
export async function expectChunkByChunk(url: string, gate: string, chunks = 3): Promise<void> {
  writeFileSync(gate, "0");
  giveToScriptUser(gate);
  const reader = (await fetch(`${url}?chunks=${chunks}&gate=${encodeURIComponent(gate)}`)).body!.getReader();
  const decoder = new TextDecoder();
  for (let i = 0; i < chunks; i++) {
    let text = "";
    while (!text.includes(`chunk ${i}\n`)) {
      const { value, done } = await reader.read();
      expect(done).toBe(false);
      text += decoder.decode(value);
    }
    expect(text).toBe(`chunk ${i}\n`);
    writeFileSync(gate, String(i + 1));
  }
  expect((await reader.read()).done).toBe(true);
}
