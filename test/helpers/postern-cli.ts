// The postern CLI as each runtime runs it from this checkout (deno and bun
// from npm): the command before its subcommand (`serve`, `cgi`, ...), that
// command started, run to its end, or started and waited for until it
// listens.

import { spawn, spawnSync, type ChildProcess, type SpawnOptions, type SpawnSyncReturns } from "node:child_process";
import { join } from "node:path";
import { stopProcessGroup } from "./server-process.ts";

const ROOT = join(import.meta.dirname, "../..");

export type CliRuntime = "node" | "deno" | "bun";

export const POSTERN_CLI: Record<CliRuntime, string[]> = {
  node: [process.execPath, join(ROOT, "bin/postern.js")],
  // Without the flag, Deno also aborts request.signal after every complete response.
  deno: [join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--unstable-no-legacy-abort", join(ROOT, "bin/postern.ts")],
  bun: [join(ROOT, "node_modules/.bin/bun"), join(ROOT, "bin/postern.ts")],
};

/**
 * `postern ...args` on `runtime`, in a process group of its own (so that a
 * test can signal it and whatever it started at once), its stderr kept for a
 * failing test's message. The caller stops it (stopProcessGroup).
 */
export function spawnPostern(runtime: CliRuntime, args: string[], env: Record<string, string> = {}): { proc: ChildProcess; log: () => string } {
  const [file, ...before] = POSTERN_CLI[runtime];
  const proc = spawn(file!, [...before, ...args], { stdio: ["ignore", "ignore", "pipe"], detached: true, env: { ...process.env, ...env } });
  let log = "";
  proc.stderr!.on("data", (d) => (log += d));
  return { proc, log: () => log };
}

export interface RunAs {
  runtime?: CliRuntime;
  /** Variables added to the test's environment. */
  env?: Record<string, string>;
  /** Another user to run it as (the tests must run as root). */
  user?: { uid: number; gid: number };
  /** Its working directory (the test's, else). */
  cwd?: string;
  /** The Node binary that runs it, when `runtime` is node (the one running the tests, else). */
  node?: string;
}

/** `postern ...args` to its end: its status and output. */
export function runPostern(args: string[], { runtime = "node", env = {}, user, cwd }: RunAs = {}): SpawnSyncReturns<string> {
  const [file, ...before] = POSTERN_CLI[runtime];
  return spawnSync(file!, [...before, ...args], { encoding: "utf8", timeout: 30_000, env: { ...process.env, ...env }, ...user, ...(cwd ? { cwd } : {}) });
}

export interface Served {
  proc: ChildProcess;
  /** The first address it listens on, as `http://host:port` (no trailing "/"), or `unix:/path`. */
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Its exit status (null when a signal ended it). */
  exit: Promise<number | null>;
}

/** Starts `postern ...args` (in its own process group) and waits for its "listening on" line. */
export async function startPostern(args: string[], { runtime = "node", env = {}, user, cwd, node }: RunAs = {}): Promise<Served> {
  const [runtimeFile, ...before] = POSTERN_CLI[runtime];
  const file = runtime === "node" && node ? node : runtimeFile;
  const options: SpawnOptions = { stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, ...env }, ...user, ...(cwd ? { cwd } : {}) };
  const proc = spawn(file!, [...before, ...args], options);
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  let listening: RegExpExecArray | null;
  while (!(listening = /listening on (\S+?)\/?\n/.exec(out))) {
    if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
      await stopProcessGroup(proc, "SIGKILL");
      throw new Error(`postern did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { proc, url: listening[1]!, stdout: () => out, stderr: () => err, exit };
}

/** SIGTERM to what startPostern started (SIGKILL to its group if it lingers); resolves once it has exited. */
export async function stopPostern(served: Served | undefined): Promise<void> {
  if (served) await stopProcessGroup(served.proc, "SIGTERM");
}
