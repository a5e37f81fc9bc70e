// CPU time of a set of processes, from Linux procfs: utime + stime of
// /proc/PID/stat (proc(5): fields 14 and 15, in clock ticks, summed over the
// process's threads), and process trees from /proc/PID/task/TID/children;
// and a process's resident memory (VmRSS of /proc/PID/status).

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

/** sysconf(_SC_CLK_TCK), almost always 100. */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of one process in ms; undefined when it is gone. */
export function processCpuMs(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]); // field 14
  const stime = Number(fields[12]); // field 15
  return ((utime + stime) * 1000) / clockTicks();
}

/** A process's resident set in bytes; throws when it cannot be read, rather than reading as nothing. */
export function processRssBytes(pid: number): number {
  const kib = /VmRSS:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`) ?? "")?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}

/** A CPU reading per PID, to subtract from a later one. */
export type CpuSample = Map<number, number>;

export function sampleCpu(pids: number[]): CpuSample {
  const sample: CpuSample = new Map();
  for (const pid of pids) {
    const ms = processCpuMs(pid);
    if (ms !== undefined) sample.set(pid, ms);
  }
  return sample;
}

/** CPU ms spent between two samples by the processes in both (a process started in between counts from 0). */
export function cpuDeltaMs(before: CpuSample, after: CpuSample): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** The PID and every descendant of it (needs CONFIG_PROC_CHILDREN, as Debian kernels have). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    for (const tid of list(`/proc/${p}/task`)) {
      for (const child of (read(`/proc/${p}/task/${tid}/children`) ?? "").split(/\s+/)) {
        if (child) out.push(Number(child));
      }
    }
  }
  return out;
}

/** PIDs whose command line contains `text` (e.g. a server's private config path). */
export function pidsWithCommandLine(text: string): number[] {
  const found: number[] = [];
  for (const entry of list("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = read(`/proc/${entry}/cmdline`);
    if (cmdline?.replaceAll("\0", " ").includes(text)) found.push(Number(entry));
  }
  return found;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function list(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
