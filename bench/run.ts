// `npm run bench [-- CASE...]`: runs postern and its reference gateways side
// by side under wrk and prints medians and ratios (bench/README.md). The cases
// are the files bench/cases/*.ts that export `benchCase`.

import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { fileURLToPath } from "node:url";
import type { BenchCase, CommandCase, LoadCase, Requirement, Settings } from "./case.ts";
import { Cleanup } from "./processes.ts";
import { formatScenario, ratios, summarize, writeJson } from "./report.ts";
import { measure } from "./runner.ts";
import { stopWrk } from "./wrk.ts";
import { findBinary } from "../test/helpers/binaries.ts";

const CASES_DIR = new URL("./cases/", import.meta.url);
const RESULTS_DIR = fileURLToPath(new URL("../.bench/", import.meta.url));
const WRK: Requirement = { names: ["wrk"], apt: "wrk" };

const USAGE = `Usage: npm run bench [-- CASE...]      (all cases when none is named)
       npm run bench -- --list

Environment:
  BENCH_DURATION   wrk -d of each measured run (default 10s)
  BENCH_ROUNDS     measured runs per server and scenario, interleaved (default 3)
  BENCH_WARMUP     wrk -d of the warm-up run per server and scenario (default 2s)
  BENCH_PAUSE_MS   pause between two runs (default 1000)
Quick check: BENCH_DURATION=3s BENCH_ROUNDS=1 npm run bench`;

/** A wrong argument or setting: its message is the whole answer. */
class UsageError extends Error {}

let current: Cleanup | undefined;

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const all = await loadCases();
  if (args.includes("--list")) {
    for (const c of all) console.log(`${c.name.padEnd(10)} ${c.description}`);
    return 0;
  }
  const unknown = args.filter((a) => !all.some((c) => c.name === a));
  if (unknown.length > 0) {
    console.error(`bench: unknown case ${unknown.join(", ")}; cases: ${all.map((c) => c.name).join(", ")}\n\n${USAGE}`);
    return 2;
  }
  const selected = args.length === 0 ? all : all.filter((c) => args.includes(c.name));

  const binaries = new Map<string, string>();
  const missing: Requirement[] = [];
  const needsWrk = selected.some((c) => !("measure" in c));
  for (const req of [...(needsWrk ? [WRK] : []), ...selected.flatMap((c) => c.requires)]) {
    const found = findBinary(req.names);
    if (found) binaries.set(req.names[0]!, found);
    else if (!missing.some((m) => m.apt === req.apt)) missing.push(req);
  }
  if (missing.length > 0) {
    console.error(`bench: not found: ${missing.map((m) => m.names[0]).join(", ")}`);
    console.error(`install with: apt-get install -y ${missing.map((m) => m.apt).join(" ")}`);
    return 1;
  }

  const settings = readSettings(binaries.get("wrk") ?? "wrk");
  for (const c of selected) await ("measure" in c ? runCommandCase(c, binaries) : runCase(c, settings, binaries));
  return 0;
}

async function runCommandCase(c: CommandCase, binaries: Map<string, string>): Promise<void> {
  const cleanup = (current = new Cleanup());
  try {
    console.log(`== bench ${c.name} ==`);
    console.log(c.description);
    const machine = machineInfo();
    console.log(machineLine(machine));
    const loadBefore = loadavg();
    const results = await c.measure(cleanup, binaries);
    const file = `${RESULTS_DIR}results-${c.name}.json`;
    writeJson(file, { case: c.name, description: c.description, date: new Date().toISOString(), machine, load: { before: loadBefore, after: loadavg() }, results });
    console.log(`\nresults: ${file}`);
  } finally {
    await cleanup.run();
    current = undefined;
  }
}

async function runCase(c: LoadCase, settings: Settings, binaries: Map<string, string>): Promise<void> {
  const cleanup = (current = new Cleanup());
  try {
    const scenarios = c.scenarios(settings);
    const versions = c.requires.concat(WRK).map((r) => versionOf(binaries.get(r.names[0]!)!, r.versionArgs ?? ["-v"]));
    const machine = machineInfo();
    console.log(`== bench ${c.name} ==`);
    console.log(c.description);
    console.log(machineLine(machine));
    console.log(`tools: ${versions.join("; ")}`);

    const servers = await c.start(settings, cleanup, binaries);
    const runSeconds = parseSeconds(settings.duration) * settings.rounds + parseSeconds(settings.warmup);
    const estimate = (scenarios.length * servers.length * (runSeconds + (settings.rounds + 1) * (settings.pauseMs / 1000))) / 60;
    console.log(
      `settings: ${settings.rounds} rounds x ${settings.duration} per server and scenario, interleaved, ` +
        `${settings.warmup} warm-up each; about ${estimate.toFixed(1)} min`,
    );
    console.log("servers:");
    for (const s of servers) console.log(`  ${s.name.padEnd(26)} ${s.note}`);
    console.log("");

    const loadBefore = loadavg();
    const logStart = new Map(servers.map((s) => [s.name, s.errorLog().length]));
    const measured = await measure(servers, scenarios, settings, (line) => process.stderr.write(`  ${line}\n`));
    const loadAfter = loadavg();

    const results = measured.map(({ scenario, runs }) => {
      const summary = summarize(scenario, servers, runs);
      const rs = ratios(scenario, summary);
      console.log(`\n${formatScenario(scenario, summary, rs, settings.rounds, settings.duration, c.backend)}`);
      return { scenario, summary, ratios: rs, runs };
    });

    console.log("\nnotes:");
    console.log("  errors = wrk socket errors connect+read+write; timeouts = no answer within wrk's 2 s (left out of p99);");
    console.log("  non-2xx = answers with status >= 400; CPU = utime+stime of the gateway's processes (nginx: master + worker,");
    console.log("  and fcgiwrap's when nginx runs CGI through it).");
    if (c.backend) console.log(`  ${c.backend} CPU = that server's own ${c.backend} processes.`);
    console.log("  A row with a large p99 or timeouts is starved, whatever its req/s.");
    console.log(`  load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}`);
    const errorLogs: Record<string, string> = {};
    for (const s of servers) {
      const log = s.errorLog().slice(logStart.get(s.name) ?? 0);
      errorLogs[s.name] = log;
      const lines = log.split("\n").filter(Boolean);
      if (lines.length > 0) console.log(`  ${s.name} error log: ${lines.length} line(s), first: ${lines[0]!.slice(0, 160)}`);
    }

    const file = `${RESULTS_DIR}results-${c.name}.json`;
    writeJson(file, {
      case: c.name,
      description: c.description,
      date: new Date().toISOString(),
      settings: { ...settings, wrk: undefined },
      machine,
      versions,
      load: { before: loadBefore, after: loadAfter },
      servers: servers.map((s) => ({ name: s.name, role: s.role, note: s.note })),
      scenarios: results,
      errorLogs,
    });
    console.log(`\nresults: ${file}`);
  } finally {
    await cleanup.run();
    current = undefined;
  }
}

async function loadCases(): Promise<BenchCase[]> {
  const files = readdirSync(CASES_DIR)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .sort();
  const cases: BenchCase[] = [];
  for (const f of files) {
    const mod = (await import(new URL(f, CASES_DIR).href)) as { benchCase?: BenchCase };
    if (!mod.benchCase) throw new Error(`bench/cases/${f} exports no benchCase`);
    cases.push(mod.benchCase);
  }
  return cases;
}

function readSettings(wrk: string): Settings {
  const env = process.env;
  const duration = env.BENCH_DURATION ?? "10s";
  const warmup = env.BENCH_WARMUP ?? "2s";
  for (const [key, value] of [["BENCH_DURATION", duration], ["BENCH_WARMUP", warmup]] as const) {
    if (!/^\d+[smh]?$/.test(value)) throw new UsageError(`${key}=${value}: expected a wrk duration such as 10s, 1m`);
  }
  const rounds = Number(env.BENCH_ROUNDS ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError(`BENCH_ROUNDS=${env.BENCH_ROUNDS}: expected a whole number >= 1`);
  const pauseMs = Number(env.BENCH_PAUSE_MS ?? 1000);
  if (!Number.isFinite(pauseMs) || pauseMs < 0) throw new UsageError(`BENCH_PAUSE_MS=${env.BENCH_PAUSE_MS}: expected ms >= 0`);
  return { duration, rounds, warmup, pauseMs, wrk };
}

function parseSeconds(d: string): number {
  const m = /^(\d+)([smh]?)$/.exec(d)!;
  return Number(m[1]) * ({ "": 1, s: 1, m: 60, h: 3600 } as Record<string, number>)[m[2]!]!;
}

/**
 * The first line with a version number (x.y) that `BINARY args` prints, on
 * stdout or stderr: nginx, lighttpd, php-fpm and wrk answer -v with it first;
 * fcgiwrap -h has it after its usage lines. Else the first line.
 */
function versionOf(binary: string, args: string[]): string {
  const r = spawnSync(binary, args, { encoding: "utf8" });
  const lines = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n");
  return lines.find((l) => /\d+\.\d+/.test(l)) ?? (lines[0] || binary);
}

function machineInfo() {
  return { cpus: cpus().length, model: cpus()[0]?.model ?? "?", kernel: release(), node: process.version };
}

function machineLine(m: ReturnType<typeof machineInfo>): string {
  return `machine: ${m.cpus} CPUs (${m.model}), Linux ${m.kernel}, Node ${m.node}, load ${loadText()}`;
}

function loadText(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    process.stderr.write(`\nbench: ${signal}: stopping every server\n`);
    stopWrk();
    void (current?.run() ?? Promise.resolve()).then(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err: unknown) => {
    const text = err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`bench: ${text}\n`);
    await current?.run();
    process.exit(1);
  },
);
