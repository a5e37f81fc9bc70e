// The fault suite's subject as an operator runs it: the postern CLI
// (`postern serve --config`, on Node unless told) in a process group of its own, serving
// test/faults/fixtures through one fastcgi route, either to a real php-fpm
// pool (pm = static, max_conns at the pool's size) or to php-cgi processes
// it spawns itself. Used by test/faults/ and bench/faults.ts.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPhpFpm, type PhpFpm } from "./php-fpm.ts";
import { freePort } from "./ports.ts";
import { spawnPostern, type CliRuntime } from "./postern-cli.ts";
import { stopProcessGroup, waitForPort } from "./server-process.ts";

export const FAULT_FIXTURES = join(import.meta.dirname, "../faults/fixtures");
export const PHP_FPM_NAMES = ["php-fpm8.2", "php-fpm"];
/** The fault tests run on each runtime's CLI: their servers differ in how they hold connections. */
export const FAULT_RUNTIMES: CliRuntime[] = ["node", "deno", "bun"];

export interface FaultRig {
  port: number;
  /** The postern process (the runtime's process running the CLI). */
  pid: number;
  /** The php-fpm pool, when the route has one. */
  fpm: PhpFpm | undefined;
  /** postern's stderr so far. */
  log(): string;
  /** Writes the config again with `routeExtra` in the route (then SIGHUP reloads it). */
  writeConfig(routeExtra: string): void;
  /** Sends postern a signal by its pid. */
  signal(signal: NodeJS.Signals): void;
  /** postern exited (or was killed) before stop(). */
  exited(): boolean;
  stop(): Promise<void>;
}

/** A php-fpm pool of `children` workers, or `procs` php-cgi processes postern spawns. */
export type FaultBackend = { phpFpm: string; children: number } | { phpCgi: string; procs: number };

export async function startFaultRig(options: { backend: FaultBackend; routeExtra?: string; runtime?: CliRuntime }): Promise<FaultRig> {
  const b = options.backend;
  let fpm: PhpFpm | undefined;
  let backendLines: string[];
  if ("phpFpm" in b) {
    fpm = await startPhpFpm(b.phpFpm, { children: b.children });
    backendLines = [`backend = ${JSON.stringify(`unix:${fpm.socket}`)}`, `max_conns = ${b.children}`];
  } else {
    backendLines = [`spawn = { command = [${JSON.stringify(b.phpCgi)}], procs = ${b.procs} }`];
  }
  const dir = mkdtempSync(join(tmpdir(), "postern-faults-"));
  const file = join(dir, "postern.toml");
  const port = await freePort();
  const writeConfig = (routeExtra: string) =>
    writeFileSync(
      file,
      [
        `listen = ["127.0.0.1:${port}"]`,
        "access_log = false",
        "[[routes]]",
        'path = "*"',
        'gateway = "fastcgi"',
        `root = ${JSON.stringify(FAULT_FIXTURES)}`,
        ...backendLines,
        routeExtra,
        "",
      ].join("\n"),
    );
  writeConfig(options.routeExtra ?? "");
  const { proc, log } = spawnPostern(options.runtime ?? "node", ["serve", "--config", file]);
  const stopAll = async () => {
    await stopProcessGroup(proc, "SIGTERM");
    await fpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Deno compiles the sources at its first start: slower than Node.
    await waitForPort(proc, port, `postern on ${options.runtime ?? "node"}`, log, 30_000);
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    port,
    pid: proc.pid!,
    fpm,
    log,
    writeConfig,
    signal: (signal) => process.kill(proc.pid!, signal),
    exited: () => proc.exitCode !== null || proc.signalCode !== null,
    stop: stopAll,
  };
}
