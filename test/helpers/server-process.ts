// Starting and stopping a reference web server (nginx, lighttpd) that a test
// spawned in its own process group: wait until its port accepts, stop it with
// its graceful signal and SIGKILL the whole group if it lingers.

import type { ChildProcess } from "node:child_process";
import { connect } from "node:net";

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** Resolves when 127.0.0.1:port accepts; throws with the server's log if it exits or takes too long. */
export async function waitForPort(proc: ChildProcess, port: number, name: string, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}): ${log()}`);
    }
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  await stopProcessGroup(proc, "SIGKILL");
  throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms: ${log()}`);
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
