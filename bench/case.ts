// What a benchmark case is: the servers it starts (postern and the reference
// gateways it is measured against, DESIGN.md "bench/") and the load scenarios
// run against each of them. bench/run.ts finds every bench/cases/*.ts that
// exports `benchCase`; the measuring, interleaving and reporting are shared
// (bench/runner.ts, bench/report.ts), so a new case only starts servers.

import type { Cleanup } from "./processes.ts";

export interface Settings {
  /** wrk -d of a measured run, e.g. "10s" (BENCH_DURATION). */
  duration: string;
  /** Measured runs per server and scenario (BENCH_ROUNDS). */
  rounds: number;
  /** wrk -d of the warm-up run each server gets before the rounds (BENCH_WARMUP). */
  warmup: string;
  /** Pause between two runs, in ms, so one run's tail does not overlap the next (BENCH_PAUSE_MS). */
  pauseMs: number;
  /** The wrk binary. */
  wrk: string;
}

/** A binary a case needs, and the Debian package that has it. */
export interface Requirement {
  names: string[];
  apt: string;
  /** Arguments that make it print its version, for the results. Default ["-v"]. */
  versionArgs?: string[];
}

/** How a server's numbers are compared in the ratios. */
export type Role =
  /** postern: its numbers are divided by each baseline's. */
  | "subject"
  /** a reference as it is usually deployed: the denominator of the ratios. */
  | "baseline"
  /** shown in the tables only (a configuration kept to show a failure mode). */
  | "shown";

export interface Server {
  /** Short unique name, used in tables and JSON. */
  name: string;
  role: Role;
  /** One line on how it is configured, printed under the tables. */
  note: string;
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  /** PIDs whose CPU time is the gateway's (a master and its workers; read before and after each run). */
  gatewayPids(): number[];
  /** PIDs of the backend this server alone talks to (the php-fpm children), for backend CPU per request; [] without one. */
  backendPids(): number[];
  /** The server's error log so far. */
  errorLog(): string;
}

export interface Scenario {
  /** Key in tables and JSON, e.g. "hello-c32". */
  name: string;
  /** Printed as the table title. */
  title: string;
  /** Request path and query, from the server's root. */
  path: string;
  connections: number;
  /** What the scenario is about: requests per second or bytes per second. */
  metric: "rps" | "throughput";
  /** Request header fields wrk adds (`Connection: close`: a new connection for every request). */
  headers?: Record<string, string>;
}

/** A case served load by wrk: servers started, scenarios run against each, measured and reported by bench/runner.ts. */
export interface LoadCase {
  name: string;
  /** One paragraph: what is measured and why. */
  description: string;
  /** Names what `Server.backendPids` are ("php-fpm") and adds its CPU column; without it, there is no such column. */
  backend?: string;
  requires: Requirement[];
  scenarios(settings: Settings): Scenario[];
  /** Starts every server (each registers its own stop with `cleanup`), in the order they are run. */
  start(settings: Settings, cleanup: Cleanup, binaries: Map<string, string>): Promise<Server[]>;
}

/** A case that times commands instead of serving load (e.g. how fast postern starts). */
export interface CommandCase {
  name: string;
  /** One paragraph: what is measured and why. */
  description: string;
  requires: Requirement[];
  /** Measures and prints its own tables; what it returns is written to .bench/results-<name>.json. */
  measure(cleanup: Cleanup, binaries: Map<string, string>): Promise<unknown>;
}

export type BenchCase = LoadCase | CommandCase;
