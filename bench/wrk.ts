// One wrk run (github.com/wg/wrk, Debian's wrk 4.1) and the numbers read from
// its text report: requests, req/s, bytes/s, the --latency percentiles, socket
// errors and the count of answers with a status >= 400 ("Non-2xx or 3xx").

import { spawn, type ChildProcess } from "node:child_process";

export interface WrkOptions {
  url: string;
  connections: number;
  duration: string;
  threads?: number;
  /** wrk --timeout: a request without an answer after this long counts as a timeout. */
  timeout?: string;
  /** wrk -H: fields added to every request. */
  headers?: Record<string, string>;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  bytesPerSecond: number;
  /** Latency percentiles in ms; null when no request completed. wrk leaves timed-out requests out. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  errors: { connect: number; read: number; write: number; timeout: number };
  /** Answers with status >= 400 (wrk's "Non-2xx or 3xx responses"). */
  non2xx: number;
  /** wrk's own report, kept in the JSON results. */
  raw: string;
}

const running = new Set<ChildProcess>();

/** Stops the wrk runs under way (on SIGINT). */
export function stopWrk(): void {
  for (const proc of running) proc.kill("SIGKILL");
}

export function runWrk(binary: string, o: WrkOptions): Promise<WrkResult> {
  const args = ["-t", String(o.threads ?? 1), "-c", String(o.connections), "-d", o.duration];
  for (const [name, value] of Object.entries(o.headers ?? {})) args.push("-H", `${name}: ${value}`);
  args.push("--timeout", o.timeout ?? "2s", "--latency", o.url);
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    running.add(proc);
    let out = "";
    let err = "";
    proc.stdout!.on("data", (d) => (out += d));
    proc.stderr!.on("data", (d) => (err += d));
    proc.once("error", reject);
    proc.once("close", (code, signal) => {
      running.delete(proc);
      if (code !== 0) return reject(new Error(`wrk ${args.join(" ")}: ${signal ?? `exit ${code}`}: ${err || out}`));
      try {
        resolve(parseWrk(out));
      } catch (e) {
        reject(e);
      }
    });
  });
}

export function parseWrk(text: string): WrkResult {
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m|h),/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const transfer = /Transfer\/sec:\s+([\d.]+[KMGTP]?B)/.exec(text);
  if (!done || !rps || !transfer) throw new Error(`unexpected wrk output:\n${text}`);
  const requests = Number(done[1]);
  const percentile = (p: number): number | null => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+(?:us|ms|s|m|h))\\s*$`, "m").exec(text);
    return m && requests > 0 ? durationMs(m[1]!) : null;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requests,
    seconds: durationMs(done[2]! + done[3]!) / 1000,
    rps: Number(rps[1]),
    bytesPerSecond: bytes(transfer[1]!),
    p50: percentile(50),
    p90: percentile(90),
    p99: percentile(99),
    errors: {
      connect: Number(socket?.[1] ?? 0),
      read: Number(socket?.[2] ?? 0),
      write: Number(socket?.[3] ?? 0),
      timeout: Number(socket?.[4] ?? 0),
    },
    non2xx: Number(non2xx?.[1] ?? 0),
    raw: text,
  };
}

const TIME_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** wrk's format_time_us: "812.00us", "1.25ms", "2.00s". */
export function durationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`not a wrk duration: ${text}`);
  return Number(m[1]) * TIME_MS[m[2]!]!;
}

/** wrk's format_binary (powers of 1024): "512.00B", "1.50MB". */
export function bytes(text: string): number {
  const m = /^([\d.]+)([KMGTP]?)B$/.exec(text);
  if (!m) throw new Error(`not a wrk size: ${text}`);
  return Number(m[1]) * 1024 ** " KMGTP".indexOf(m[2] || " ");
}
