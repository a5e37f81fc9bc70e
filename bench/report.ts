// From the runs to what is printed and kept: per scenario a table of medians
// and error totals per server, the ratios postern / each baseline, and the
// same as JSON in .bench/results-<case>.json.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Role, Scenario, Server } from "./case.ts";
import type { Run } from "./runner.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

export interface ServerSummary {
  server: string;
  role: Role;
  rounds: number;
  /** Median over the rounds. */
  rps: number;
  mibPerSecond: number;
  /** Median over the rounds that completed a request; null when none did. */
  p99Ms: number | null;
  requests: number;
  /** connect + read + write socket errors, summed over the rounds. */
  errors: number;
  timeouts: number;
  non2xx: number;
  /** Gateway CPU ms per 1000 requests (rps scenarios) or per GiB sent (throughput), over all rounds. */
  gatewayCpu: number | null;
  backendCpu: number | null;
}

export interface Ratio {
  subject: string;
  baseline: string;
  /** subject / baseline of the scenario's rate (req/s or MiB/s): above 1, the subject served more. */
  rate: number | null;
  /** subject / baseline of p99: below 1, the subject's slowest answers were faster. */
  p99: number | null;
  /** subject / baseline of gateway CPU per unit of work: below 1, the subject spent less. */
  cpu: number | null;
}

export function summarize(scenario: Scenario, servers: Server[], runs: Run[]): ServerSummary[] {
  return servers.map((server) => {
    const mine = runs.filter((r) => r.server === server.name);
    const requests = sum(mine.map((r) => r.wrk.requests));
    const bytes = sum(mine.map((r) => r.wrk.bytesPerSecond * r.wrk.seconds));
    const per = (cpuMs: number) =>
      scenario.metric === "rps" ? (requests > 0 ? (cpuMs * 1000) / requests : null) : bytes > 0 ? cpuMs / (bytes / GiB) : null;
    const p99s = mine.map((r) => r.wrk.p99).filter((p): p is number => p !== null);
    return {
      server: server.name,
      role: server.role,
      rounds: mine.length,
      rps: median(mine.map((r) => r.wrk.rps)),
      mibPerSecond: median(mine.map((r) => r.wrk.bytesPerSecond / MiB)),
      p99Ms: p99s.length > 0 ? median(p99s) : null,
      requests,
      errors: sum(mine.map((r) => r.wrk.errors.connect + r.wrk.errors.read + r.wrk.errors.write)),
      timeouts: sum(mine.map((r) => r.wrk.errors.timeout)),
      non2xx: sum(mine.map((r) => r.wrk.non2xx)),
      gatewayCpu: per(sum(mine.map((r) => r.gatewayCpuMs))),
      backendCpu: per(sum(mine.map((r) => r.backendCpuMs))),
    };
  });
}

export function ratios(scenario: Scenario, summaries: ServerSummary[]): Ratio[] {
  const out: Ratio[] = [];
  for (const s of summaries.filter((x) => x.role === "subject")) {
    for (const b of summaries.filter((x) => x.role === "baseline")) {
      const rate = scenario.metric === "rps" ? divide(s.rps, b.rps) : divide(s.mibPerSecond, b.mibPerSecond);
      out.push({ subject: s.server, baseline: b.server, rate, p99: divide(s.p99Ms, b.p99Ms), cpu: divide(s.gatewayCpu, b.gatewayCpu) });
    }
  }
  return out;
}

/** `backend` names the backend CPU column (BenchCase.backend); without it the column is left out. */
export function formatScenario(
  scenario: Scenario,
  summaries: ServerSummary[],
  rs: Ratio[],
  rounds: number,
  duration: string,
  backend?: string,
): string {
  const rps = scenario.metric === "rps";
  const unit = rps ? "CPU-ms/1k req" : "CPU-ms/GiB";
  const lines = [
    `${scenario.title}  (wrk -t1 -c${scenario.connections} -d${duration} --latency, ${rounds} round${rounds === 1 ? "" : "s"}, medians)`,
    table(
      [
        "server",
        rps ? "req/s" : "MiB/s",
        "p99",
        "requests",
        "errors",
        "timeouts",
        "non-2xx",
        `gateway ${unit}`,
        ...(backend === undefined ? [] : [`${backend} ${unit}`]),
      ],
      summaries.map((s) => [
        s.server,
        rps ? s.rps.toFixed(0) : s.mibPerSecond.toFixed(1),
        s.p99Ms === null ? "n/a" : formatMs(s.p99Ms),
        String(s.requests),
        String(s.errors),
        String(s.timeouts),
        String(s.non2xx),
        fixed(s.gatewayCpu, rps ? 1 : 0),
        ...(backend === undefined ? [] : [fixed(s.backendCpu, rps ? 1 : 0)]),
      ]),
    ),
  ];
  if (rs.length > 0) {
    lines.push("", `  ratios (${rps ? "req/s" : "MiB/s"} > 1: postern served more; p99 < 1 and CPU < 1: postern was faster / spent less)`);
    lines.push(
      table(
        ["", rps ? "req/s" : "MiB/s", "p99", `gateway ${unit}`],
        rs.map((r) => [`${r.subject} / ${r.baseline}`, fixed(r.rate, 2), fixed(r.p99, 2), fixed(r.cpu, 2)]),
      ),
    );
  }
  return lines.join("\n");
}

export function writeJson(file: string, data: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}

/** Left-aligned first column, right-aligned numbers, two spaces of indent. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    "  " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
}

function fixed(n: number | null, digits: number): string {
  return n === null || !Number.isFinite(n) ? "n/a" : n.toFixed(digits);
}

function divide(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : a / b;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
