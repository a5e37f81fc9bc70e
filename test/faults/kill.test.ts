// Backend processes SIGKILLed at random under load, php-fpm workers and the
// php-cgi processes postern spawns: a gateway must answer each request with
// its own body or with a gateway error (502/503/504), never with another
// request's answer, never hang, never crash, and give back every descriptor
// the storm took (FastCGI spec §3.5: a connection that closes mid-request
// ends that request only). Longer runs: `bench/faults.ts kill`.

import { afterEach, describe, expect, test } from "vitest";
import { requireBinary } from "../helpers/binaries.ts";
import { startFaultRig, FAULT_RUNTIMES, PHP_FPM_NAMES, type FaultBackend, type FaultRig } from "../helpers/fault-rig.ts";
import { FD_MARGIN, killScenario, tokenPath } from "../helpers/fault-scenarios.ts";
import type { CliRuntime } from "../helpers/postern-cli.ts";
import { alive } from "../helpers/proc-stats.ts";
import { failures, tokenLoad } from "../helpers/token-load.ts";

const PHP_FPM = requireBinary(PHP_FPM_NAMES, "php-fpm");
const PHP_CGI = requireBinary(["php-cgi"], "php-cgi");
const CONCURRENCY = 16;

let rig: FaultRig | undefined;
afterEach(() => rig?.stop());

async function killsUnderLoad(runtime: CliRuntime, backend: FaultBackend, requests: number): Promise<void> {
  const r0 = (rig = await startFaultRig({ backend, runtime }));
  const { load: r, kills, fdBaseline, fdAfter } = await killScenario(r0, { requests, concurrency: CONCURRENCY, rate: 0.01 });
  console.log(
    `kill 1% (${runtime}, ${Object.keys(backend)[0]}): ${r.requests} requests, ${kills} kills, ` +
      `${failures(r)} failed (${JSON.stringify(r.gatewayErrors)}, cut ${r.cut}, hung ${r.hung}), ${r.ms} ms`,
  );
  // Something was killed: a storm of none would pass every check below.
  expect(kills).toBeGreaterThan(0);
  expect(r.wrongExamples).toEqual([]);
  expect(r.hung).toBe(0);
  expect(r.cut).toBe(0);
  // A killed backend process holds one connection (php-fpm and php-cgi serve
  // one connection per process), so one kill fails at most the request on
  // it; a request sent on a kept connection, or a connection tried, in the
  // instant between the kill and postern seeing it fails too (a request
  // written to a backend is never sent again). Hence at most two per kill.
  expect(failures(r), r0.log()).toBeLessThanOrEqual(2 * kills);
  expect(r.right + failures(r)).toBe(requests);
  expect(alive(r0.pid)).toBe(true);
  expect(r0.exited()).toBe(false);
  expect(fdAfter, `descriptors: baseline ${fdBaseline}, after ${fdAfter}`).toBeLessThanOrEqual(fdBaseline + FD_MARGIN);
  // The backends are whole again: every request is served right.
  const again = await tokenLoad({ port: r0.port, total: 100, concurrency: CONCURRENCY, path: tokenPath });
  expect(again.right).toBe(100);
}

describe.each(FAULT_RUNTIMES)("on %s, a backend process killed at random for about 1% of the requests", (runtime) => {
  test.skipIf(!PHP_FPM)("10,000 requests, php-fpm workers", { timeout: 180_000 }, () => killsUnderLoad(runtime, { phpFpm: PHP_FPM!, children: 4 }, 10_000));
  test.skipIf(!PHP_CGI)("10,000 requests, php-cgi processes postern spawns", { timeout: 180_000 }, () =>
    killsUnderLoad(runtime, { phpCgi: PHP_CGI!, procs: 4 }, 10_000),
  );
});
