// An HTTP answer read whole, for the tests of gateways that run programs,
// and waiting for a line of postern's error log.

import type { RunningPostern } from "./postern.ts";

export interface Answer {
  status: number;
  statusText: string;
  headers: Headers;
  body: string;
}

/** `fetch` with a deadline, its body read as text. */
export async function request(url: string, init: RequestInit = {}, timeoutMs = 30_000): Promise<Answer> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), ...init });
  const body = await res.text();
  return { status: res.status, statusText: res.statusText, headers: res.headers, body };
}

/** Waits up to `ms` for a line of the error log to match. */
export async function logLine(p: RunningPostern, pattern: RegExp, ms = 5_000): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const line = p.errors.find((l) => pattern.test(l));
    if (line || Date.now() > deadline) return line;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
