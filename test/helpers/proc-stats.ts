// What Linux says of a running process (proc(5)) beyond bench/cpu.ts's CPU
// and memory: its open descriptors, its descriptor limit, whether it runs,
// its command name; for the fault tests that check a gateway gives back what
// a storm took.

import { readdirSync, readFileSync } from "node:fs";

/** Entries of /proc/PID/fd: every descriptor the process holds (sockets, pipes, files). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The soft "Max open files" of /proc/PID/limits (Node raises its own to the hard limit at start). */
export function fdLimit(pid: number | "self"): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
  if (!match) throw new Error(`no open files limit for ${pid}`);
  return match[1] === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(match[1]);
}

/** The process runs (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/^State:\s+[ZX]/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/**
 * Polls `read` until `done` accepts its value or `timeoutMs` passes; returns
 * the last value read either way, for the caller's assertion to show.
 */
export async function settle<T>(read: () => T, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = read();
  }
  return value;
}

/** The command name (/proc/PID/comm) of a process, "" once it is gone. */
export function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}
