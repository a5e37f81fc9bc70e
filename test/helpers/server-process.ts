// Starting and stopping a reference web server (nginx, lighttpd) that a test
// spawned in its own process group: wait until its port accepts, stop it with
// its graceful signal and SIGKILL the whole group if it lingers.

import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** Resolves when 127.0.0.1:port accepts; throws with the server's log if it exits or takes too long. */
export async function waitForPort(proc: ChildProcess, port: number, name: string, log: () => string, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}): ${log()}`);
    }
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  await stopProcessGroup(proc, "SIGKILL");
  throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms: ${log()}`);
}

/**
 * Sends `signal` to the process group of a child spawned with `detached: true`
 * (master and workers), then SIGKILL to the group if the leader has not exited
 * within a few seconds. Resolves once the leader has exited.
 */
export async function stopProcessGroup(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  signalGroup(proc, signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), STOP_TIMEOUT_MS)));
  const outcome = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (outcome === "late") {
    signalGroup(proc, "SIGKILL");
    await exited;
  }
}

function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid!, signal);
  } catch {
    // the group is gone already
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** A reference server a test started in a private directory. */
export interface ServerProcess {
  port: number;
  /** The private directory (config, error.log). Removed by stop(). */
  dir: string;
  /** The error log so far, for a failing test's message. */
  errorLog(): string;
  stop(): Promise<void>;
}

/**
 * Starts `binary args` in its own process group, waits until `port` accepts,
 * and stops it with `stopSignal` (its graceful one), removing `dir` after.
 */
export async function startServerProcess(spec: {
  name: string;
  binary: string;
  args: string[];
  port: number;
  dir: string;
  errorLogPath: string;
  stopSignal: NodeJS.Signals;
}): Promise<ServerProcess> {
  const proc = spawn(spec.binary, spec.args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += d));
  const log = () => stderr + safeRead(spec.errorLogPath);
  try {
    await waitForPort(proc, spec.port, spec.name, log);
  } catch (err) {
    rmSync(spec.dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port: spec.port,
    dir: spec.dir,
    errorLog: log,
    stop: async () => {
      await stopProcessGroup(proc, spec.stopSignal);
      rmSync(spec.dir, { recursive: true, force: true });
    },
  };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
