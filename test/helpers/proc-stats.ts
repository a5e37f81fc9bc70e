// What Linux says of a running process (proc(5)): its open descriptors, its
// resident memory and its descriptor limit, for the fault tests that check a
// gateway gives back what a storm took.

import { readdirSync, readFileSync } from "node:fs";

/** Entries of /proc/PID/fd: every descriptor the process holds (sockets, pipes, files). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** VmRSS of /proc/PID/status, in KiB. */
export function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
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

/** Every process under `pid` (children, theirs, ...), from /proc/PID/task/PID/children. */
export function descendants(pid: number): number[] {
  let text = "";
  try {
    text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8");
  } catch {
    // gone
  }
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .flatMap((child) => [child, ...descendants(child)]);
}

/** The command name (/proc/PID/comm) of a process, "" once it is gone. */
export function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}
