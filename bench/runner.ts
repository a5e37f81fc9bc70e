// The measuring loop shared by every case: per scenario, a warm-up run per
// server, then the rounds INTERLEAVED (round 1 runs every server, then round 2
// every server, ...; each round starts one server further on), so a slow
// minute of a shared machine falls on all servers rather than on one. Around
// each run the gateway's and its backend's CPU time are read from /proc.

import type { Scenario, Server, Settings } from "./case.ts";
import { cpuDeltaMs, sampleCpu } from "./cpu.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

export interface Run {
  server: string;
  round: number;
  wrk: WrkResult;
  /** CPU ms the gateway processes spent during the run. */
  gatewayCpuMs: number;
  /** CPU ms the backend processes (php-fpm children) spent during the run. */
  backendCpuMs: number;
}

export interface ScenarioRuns {
  scenario: Scenario;
  runs: Run[];
}

export async function measure(
  servers: Server[],
  scenarios: Scenario[],
  settings: Settings,
  progress: (line: string) => void,
): Promise<ScenarioRuns[]> {
  const out: ScenarioRuns[] = [];
  for (const scenario of scenarios) {
    progress(`${scenario.name}: warm-up (${settings.warmup} per server)`);
    for (const server of servers) {
      await runWrk(settings.wrk, { url: server.url + scenario.path, connections: scenario.connections, duration: settings.warmup, headers: scenario.headers });
      await pause(settings.pauseMs);
    }
    const runs: Run[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      for (let i = 0; i < servers.length; i++) {
        const server = servers[(i + round - 1) % servers.length]!;
        const run = await measureOne(server, scenario, settings, round);
        runs.push(run);
        progress(`${scenario.name} round ${round}/${settings.rounds} ${server.name}: ${summary(run, scenario)}`);
        await pause(settings.pauseMs);
      }
    }
    out.push({ scenario, runs });
  }
  return out;
}

async function measureOne(server: Server, scenario: Scenario, settings: Settings, round: number): Promise<Run> {
  const gatewayPids = server.gatewayPids();
  const backendPids = server.backendPids();
  const gatewayBefore = sampleCpu(gatewayPids);
  const backendBefore = sampleCpu(backendPids);
  const wrk = await runWrk(settings.wrk, { url: server.url + scenario.path, connections: scenario.connections, duration: settings.duration, headers: scenario.headers });
  return {
    server: server.name,
    round,
    wrk,
    gatewayCpuMs: cpuDeltaMs(gatewayBefore, sampleCpu(gatewayPids)),
    backendCpuMs: cpuDeltaMs(backendBefore, sampleCpu(backendPids)),
  };
}

function summary(run: Run, scenario: Scenario): string {
  const w = run.wrk;
  const rate = scenario.metric === "rps" ? `${w.rps.toFixed(0)} req/s` : `${(w.bytesPerSecond / 2 ** 20).toFixed(1)} MiB/s`;
  const errors = w.errors.connect + w.errors.read + w.errors.write;
  return `${rate}, p99 ${w.p99 === null ? "n/a" : `${w.p99.toFixed(2)} ms`}, errors ${errors}, timeouts ${w.errors.timeout}, non-2xx ${w.non2xx}`;
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
