// A long run of ordinary requests must not grow the gateway's memory: every
// request's buffers, timers and pool entries are let go once it is answered.
// The figure for 100,000 requests comes from `bench/faults.ts memory`; here a
// shorter run with a generous bound, and no timing.

import { afterAll, beforeAll, expect, test } from "vitest";
import { requireBinary } from "../helpers/binaries.ts";
import { startFaultRig, PHP_FPM_NAMES, type FaultRig } from "../helpers/fault-rig.ts";
import { memoryScenario } from "../helpers/fault-scenarios.ts";

const PHP_FPM = requireBinary(PHP_FPM_NAMES, "php-fpm");
const REQUESTS = 20_000;
/** The goal is 10 MiB for 100,000 requests; a fifth of them gets a bound that tolerates V8's heap growing in steps. */
const BOUND = 32 * 1024 * 1024;

let rig: FaultRig;
beforeAll(async () => {
  rig = await startFaultRig({ backend: { phpFpm: PHP_FPM!, children: 4 } });
});
afterAll(() => rig?.stop());

test.skipIf(!PHP_FPM)(`${REQUESTS} requests after a warm-up grow postern's RSS by less than ${BOUND >> 20} MiB`, { timeout: 180_000 }, async () => {
  const m = await memoryScenario(rig, { warmUp: 10_000, requests: REQUESTS, every: REQUESTS, concurrency: 16 });
  console.log(`memory: ${REQUESTS} requests, RSS ${m.before >> 10} KiB -> ${m.after >> 10} KiB`);
  for (const load of m.load) expect(load.right).toBe(load.requests);
  expect(m.after - m.before).toBeLessThan(BOUND);
});
