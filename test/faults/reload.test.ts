// SIGHUP reloads under load: each one starts the new config's routes and
// pools (and, for a spawned backend, its processes) and retires the old ones
// once their requests in flight are done, so not one request fails or gets
// an answer it should not (docs/cli.md). `bench/faults.ts reload` runs more.

import { afterEach, describe, expect, test } from "vitest";
import { processTree } from "../../bench/cpu.ts";
import { requireBinary } from "../helpers/binaries.ts";
import { startFaultRig, FAULT_RUNTIMES, PHP_FPM_NAMES, type FaultBackend, type FaultRig } from "../helpers/fault-rig.ts";
import type { CliRuntime } from "../helpers/postern-cli.ts";
import { FD_MARGIN, reloadScenario, taggedRoute } from "../helpers/fault-scenarios.ts";
import { alive, commandName, settle } from "../helpers/proc-stats.ts";
import { failures } from "../helpers/token-load.ts";

const PHP_FPM = requireBinary(PHP_FPM_NAMES, "php-fpm");
const PHP_CGI = requireBinary(["php-cgi"], "php-cgi");
const RELOADS = 10;

let rig: FaultRig | undefined;
afterEach(() => rig?.stop());

async function reloadsUnderLoad(runtime: CliRuntime, backend: FaultBackend): Promise<void> {
  const r0 = (rig = await startFaultRig({ backend, routeExtra: taggedRoute("a"), runtime }));
  const { load: r, reloaded, served, fdBaseline, fdAfter } = await reloadScenario(r0, { reloads: RELOADS, concurrency: 16, pauseMs: 300 });
  console.log(`reloads (${runtime}, ${Object.keys(backend)[0]}): ${reloaded} under ${r.requests} requests (${JSON.stringify(served)}), ${failures(r)} failed, ${r.wrong} wrong`);
  expect(reloaded, r0.log()).toBe(RELOADS);
  expect(r.wrongExamples).toEqual([]);
  expect({ gatewayErrors: r.gatewayErrors, cut: r.cut, hung: r.hung }).toEqual({ gatewayErrors: {}, cut: 0, hung: 0 });
  expect(r.right).toBe(r.requests);
  expect(Object.keys(served).sort()).toEqual(["a", "b"]);
  expect(r0.log()).not.toContain("the running config stays");
  expect(alive(r0.pid)).toBe(true);
  // The retired configs gave back their connections and their processes.
  expect(fdAfter, `descriptors: baseline ${fdBaseline}, after ${fdAfter}`).toBeLessThanOrEqual(fdBaseline + FD_MARGIN);
  if ("procs" in backend) {
    const phpCgi = () => processTree(r0.pid).filter((pid) => commandName(pid) === "php-cgi").length;
    expect(await settle(phpCgi, (n) => n === backend.procs, 10_000)).toBe(backend.procs);
  }
}

describe.each(FAULT_RUNTIMES)(`on %s, ${RELOADS} SIGHUP reloads under load, alternating two configs: no request fails`, (runtime) => {
  test.skipIf(!PHP_FPM)("php-fpm", { timeout: 120_000 }, () => reloadsUnderLoad(runtime, { phpFpm: PHP_FPM!, children: 4 }));
  test.skipIf(!PHP_CGI)("php-cgi processes postern spawns", { timeout: 120_000 }, () => reloadsUnderLoad(runtime, { phpCgi: PHP_CGI!, procs: 4 }));
});
