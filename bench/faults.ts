// `node --import ./runtimes/node/register.mjs bench/faults.ts [SCENARIO...]`:
// the fault suite's figures (bench/README.md "Fault suite"), from longer runs
// than test/faults/ makes: php-fpm workers killed at random, a slowloris
// crowd beside normal traffic (throughput ratio, with wrk), memory over
// 100,000 requests, SIGHUP reloads under load. Prints them and writes
// .bench/results-faults.json.

import { cpus, loadavg, release } from "node:os";
import { fileURLToPath } from "node:url";
import { Cleanup } from "./processes.ts";
import { writeJson } from "./report.ts";
import { runWrk, stopWrk, type WrkResult } from "./wrk.ts";
import { findBinary } from "../test/helpers/binaries.ts";
import { startFaultRig, FAULT_RUNTIMES, PHP_FPM_NAMES, type FaultBackend, type FaultRig } from "../test/helpers/fault-rig.ts";
import type { CliRuntime } from "../test/helpers/postern-cli.ts";
import { FD_MARGIN, fdsBack, idleFds, killScenario, memoryScenario, reloadScenario, taggedRoute } from "../test/helpers/fault-scenarios.ts";
import { fdLimit } from "../test/helpers/proc-stats.ts";
import { slowCrowd } from "../test/helpers/slowloris.ts";
import { failures, type TokenLoadResult } from "../test/helpers/token-load.ts";

const USAGE = `Usage: node --import ./runtimes/node/register.mjs bench/faults.ts [kill|slowloris|memory|reload ...]   (all when none is named)

Environment:
  FAULTS_KILL_REQUESTS    requests of each kill run (php-fpm, then spawned php-cgi), a backend process
                          killed before 1% of them (default 100000)
  FAULTS_SLOW             slowloris heads; a tenth as many slow uploads besides (default 1000)
  FAULTS_DURATION         wrk -d of each slowloris throughput run (default 10s)
  FAULTS_ROUNDS           slowloris runs with and without the crowd, interleaved (default 3)
  FAULTS_MEMORY_REQUESTS  requests measured after a 20000-request warm-up (default 100000)
  FAULTS_RELOADS          SIGHUP reloads under load, per backend kind (default 10)
  FAULTS_RUNTIME          the runtime postern's CLI runs on: node, deno or bun (default node)`;

const SCENARIOS = ["kill", "slowloris", "memory", "reload"] as const;
type Scenario = (typeof SCENARIOS)[number];
const RESULTS = fileURLToPath(new URL("../.bench/results-faults.json", import.meta.url));
const MiB = 1024 * 1024;
/**
 * Requests before the memory run's first reading: V8 sizes its heap to the
 * load over the first tens of thousands (with --trace-gc the heap left after
 * each full collection stays flat from then on), and that sizing is not growth.
 */
const WARM_UP = 20_000;

const RUNTIME = (process.env.FAULTS_RUNTIME ?? "node") as CliRuntime;

/** What is running now; a Cleanup runs once, so each rig's stop gets a fresh one after. */
let cleanup = new Cleanup();
async function stopAll(): Promise<void> {
  const current = cleanup;
  cleanup = new Cleanup();
  await current.run();
}

function setting(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}=${process.env[name]}: expected a whole number >= 1`);
  return value;
}

async function rig(backend: FaultBackend, routeExtra?: string): Promise<FaultRig> {
  const r = await startFaultRig({ backend, routeExtra, runtime: RUNTIME });
  cleanup.add("postern and its backend", () => r.stop());
  return r;
}

function loadLine(r: TokenLoadResult): string {
  return (
    `${r.requests} requests in ${(r.ms / 1000).toFixed(1)} s: ${r.right} right, ${failures(r)} failed ` +
    `(${JSON.stringify(r.gatewayErrors)}, cut ${r.cut}, hung ${r.hung}), ${r.wrong} wrong`
  );
}

async function kill(phpFpm: string, phpCgi: string | undefined): Promise<object> {
  const requests = setting("FAULTS_KILL_REQUESTS", 100_000);
  const runs: [string, FaultBackend, number][] = [["php-fpm pm=static, 4 workers", { phpFpm, children: 4 }, requests]];
  if (phpCgi) runs.push(["4 php-cgi processes postern spawns", { phpCgi, procs: 4 }, requests]);
  const out: Record<string, object> = {};
  for (const [name, backend, total] of runs) {
    const r = await rig(backend);
    console.log(`kill: ${name}, ${total} requests at 32 connections, a process SIGKILLed before about 1% of them`);
    const f = await killScenario(r, { requests: total, concurrency: 32, rate: 0.01 });
    console.log(`  ${loadLine(f.load)}`);
    console.log(`  kills ${f.kills}; failed per kill ${(failures(f.load) / Math.max(1, f.kills)).toFixed(2)}`);
    console.log(`  descriptors: idle baseline ${f.fdBaseline}, idle after ${f.fdAfter} (margin ${FD_MARGIN}); postern running: ${!r.exited()}`);
    out[name] = { requests: f.load.requests, kills: f.kills, failed: failures(f.load), load: f.load, fdBaseline: f.fdBaseline, fdAfter: f.fdAfter };
    await stopAll();
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function slowloris(phpFpm: string, wrk: string): Promise<object> {
  const heads = setting("FAULTS_SLOW", 1000);
  const uploads = Math.ceil(heads / 10);
  const rounds = setting("FAULTS_ROUNDS", 3);
  const duration = process.env.FAULTS_DURATION ?? "10s";
  const needed = heads + uploads + 256;
  if (fdLimit("self") < needed) throw new Error(`open files limit ${fdLimit("self")} is below the ${needed} needed: raise ulimit -n`);
  const r = await rig({ phpFpm, children: 3 });
  const url = `http://127.0.0.1:${r.port}/token.php?t=bench`;
  console.log(
    `slowloris: wrk -c16 -d${duration} on ${url.replace(/^http:\/\/[^/]+/, "")} (php-fpm, 3 workers), ${rounds} rounds with and without ` +
      `${heads} slow heads + ${uploads} slow uploads (a field or a body byte per second each)`,
  );
  const fdBaseline = await idleFds(r, 16);
  await runWrk(wrk, { url, connections: 16, duration: "2s" });
  const runs: { crowd: boolean; wrk: WrkResult; held?: [number, number] }[] = [];
  for (let round = 0; round < rounds; round++) {
    // Interleaved, and the order flipped every round, so a slow minute of a shared machine lands on both.
    for (const crowd of round % 2 === 0 ? [false, true] : [true, false]) {
      if (!crowd) {
        runs.push({ crowd, wrk: await runWrk(wrk, { url, connections: 16, duration }) });
      } else {
        const c = await slowCrowd(r.port, { heads, uploads, path: "/token.php?t=slow", uploadLength: 100_000, everyMs: 1000 });
        const start = c.open();
        const result = await runWrk(wrk, { url, connections: 16, duration });
        runs.push({ crowd, wrk: result, held: [start, c.open()] });
        c.stop();
        await fdsBack(r, fdBaseline);
      }
      const last = runs.at(-1)!;
      const errors = Object.values(last.wrk.errors).reduce((a, b) => a + b, 0);
      console.log(
        `  ${last.crowd ? "with crowd   " : "without crowd"} ${last.wrk.rps.toFixed(0)} req/s, p99 ${last.wrk.p99?.toFixed(1)} ms, ` +
          `non-2xx ${last.wrk.non2xx}, socket errors ${errors}${last.held ? `; slow connections held ${last.held[0]} at start, ${last.held[1]} at end` : ""}`,
      );
    }
  }
  const without = median(runs.filter((x) => !x.crowd).map((x) => x.wrk.rps));
  const withCrowd = median(runs.filter((x) => x.crowd).map((x) => x.wrk.rps));
  const fdAfter = await fdsBack(r, fdBaseline);
  console.log(`  median req/s without ${without.toFixed(0)}, with ${withCrowd.toFixed(0)}: ratio ${(withCrowd / without).toFixed(2)} (goal >= 0.80)`);
  console.log(`  descriptors: idle baseline ${fdBaseline}, idle after ${fdAfter}; postern running: ${!r.exited()}`);
  return { heads, uploads, duration, rounds, without, with: withCrowd, ratio: withCrowd / without, fdBaseline, fdAfter, runs };
}

async function memory(phpFpm: string): Promise<object> {
  const requests = setting("FAULTS_MEMORY_REQUESTS", 100_000);
  const r = await rig({ phpFpm, children: 4 });
  console.log(`memory: postern's VmRSS over ${requests} requests at 16 connections (php-fpm, 4 workers), after a ${WARM_UP}-request warm-up`);
  const m = await memoryScenario(r, { warmUp: WARM_UP, requests, every: Math.max(1, Math.floor(requests / 10)), concurrency: 16 });
  console.log(`  after warm-up ${(m.before / MiB).toFixed(1)} MiB`);
  for (const [done, rss] of m.samples) console.log(`  ${String(done).padStart(8)} requests ${(rss / MiB).toFixed(1)} MiB`);
  const wrongOrFailed = m.load.reduce((n, l) => n + l.wrong + failures(l), 0);
  const peak = Math.max(...m.samples.map(([, rss]) => rss));
  console.log(
    `  growth ${((m.after - m.before) / MiB).toFixed(1)} MiB (goal < 10), highest reading ${((peak - m.before) / MiB).toFixed(1)} MiB above the start; ` +
      `answers not right: ${wrongOrFailed}`,
  );
  return { requests, warmUp: WARM_UP, before: m.before, after: m.after, growth: m.after - m.before, peak, samples: m.samples, notRight: wrongOrFailed };
}

async function reload(phpFpm: string, phpCgi: string | undefined): Promise<object> {
  const reloads = setting("FAULTS_RELOADS", 10);
  const out: Record<string, object> = {};
  const backends: [string, FaultBackend][] = [["php-fpm", { phpFpm, children: 4 }]];
  if (phpCgi) backends.push(["spawned php-cgi", { phpCgi, procs: 4 }]);
  for (const [name, backend] of backends) {
    const r = await rig(backend, taggedRoute("a"));
    console.log(`reload: ${reloads} SIGHUPs 500 ms apart, two configs alternating, under 16 connections of load (${name}, 4 processes)`);
    const f = await reloadScenario(r, { reloads, concurrency: 16, pauseMs: 500 });
    console.log(`  ${loadLine(f.load)}; served by config ${JSON.stringify(f.served)}`);
    console.log(`  reloads logged ${f.reloaded}; descriptors: idle baseline ${f.fdBaseline}, idle after ${f.fdAfter}; postern running: ${!r.exited()}`);
    out[name] = { reloads: f.reloaded, requests: f.load.requests, failed: failures(f.load), wrong: f.load.wrong, fdBaseline: f.fdBaseline, fdAfter: f.fdAfter };
    await stopAll();
  }
  return out;
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const unknown = args.filter((a) => !(SCENARIOS as readonly string[]).includes(a));
  if (unknown.length > 0) {
    console.error(`faults: unknown scenario ${unknown.join(", ")}\n\n${USAGE}`);
    return 2;
  }
  const selected: Scenario[] = args.length === 0 ? [...SCENARIOS] : (args as Scenario[]);
  if (!FAULT_RUNTIMES.includes(RUNTIME)) {
    console.error(`faults: FAULTS_RUNTIME=${RUNTIME}: expected one of ${FAULT_RUNTIMES.join(", ")}\n\n${USAGE}`);
    return 2;
  }
  const phpFpm = findBinary(PHP_FPM_NAMES);
  const wrk = findBinary(["wrk"]);
  if (!phpFpm || (selected.includes("slowloris") && !wrk)) {
    console.error("faults: needs php-fpm (and wrk for slowloris): apt-get install -y php-fpm wrk");
    return 1;
  }
  const phpCgi = findBinary(["php-cgi"]);
  console.log(`postern on ${RUNTIME}; machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), Linux ${release()}, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}\n`);
  const results: Record<string, object> = {};
  for (const s of selected) {
    try {
      if (s === "kill") results[s] = await kill(phpFpm, phpCgi);
      if (s === "slowloris") results[s] = await slowloris(phpFpm, wrk!);
      if (s === "memory") results[s] = await memory(phpFpm);
      if (s === "reload") results[s] = await reload(phpFpm, phpCgi);
    } finally {
      await stopAll();
    }
    console.log("");
  }
  writeJson(RESULTS, { date: new Date().toISOString(), runtime: RUNTIME, machine: { cpus: cpus().length, kernel: release(), node: process.version }, load: loadavg(), results });
  console.log(`results: ${RESULTS}`);
  return 0;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    process.stderr.write(`\nfaults: ${signal}: stopping every server\n`);
    stopWrk();
    void stopAll().then(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`faults: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll();
    process.exit(1);
  },
);
