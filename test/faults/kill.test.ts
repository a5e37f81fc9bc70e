// php-fpm workers SIGKILLed at random under load: a gateway must answer each
// request with its own body or with a gateway error (502/503/504), never with
// another request's answer, never hang, never crash, and give back every
// descriptor the storm took (FastCGI spec §3.5: a connection that closes
// mid-request ends that request only).

import { afterAll, beforeAll, expect, test } from "vitest";
import { requireBinary } from "../helpers/binaries.ts";
import { startFaultRig, PHP_FPM_NAMES, type FaultRig } from "../helpers/fault-rig.ts";
import { fpmKiller } from "../helpers/fpm-killer.ts";
import { alive, openFds, settle } from "../helpers/proc-stats.ts";
import { failures, tokenLoad } from "../helpers/token-load.ts";

const PHP_FPM = requireBinary(PHP_FPM_NAMES, "php-fpm");
const CHILDREN = 4;
const REQUESTS = 10_000;
const CONCURRENCY = 16;
const KILL_RATE = 0.01;
/** Descriptors postern may hold above its idle baseline once everything is idle again. */
const FD_MARGIN = 3;

let rig: FaultRig;
beforeAll(async () => {
  rig = await startFaultRig({ backend: { phpFpm: PHP_FPM!, children: CHILDREN } });
});
afterAll(() => rig?.stop());

test.skipIf(!PHP_FPM)(`${REQUESTS} requests, a php-fpm worker killed at random for about 1% of them`, { timeout: 180_000 }, async () => {
  const path = (token: string, i: number) => `/token.php?t=${token}&us=${(i * 7919) % 2000}`;
  // Warm up (the pool opens its connections), then let every kept connection
  // expire (postern's keepalive_timeout, 1 s) for the idle baseline.
  await tokenLoad({ port: rig.port, total: 200, concurrency: CONCURRENCY, path });
  const baseline = await settle(() => openFds(rig.pid), () => false, 2_500);

  const killer = fpmKiller(rig.fpm!, KILL_RATE);
  const r = await tokenLoad({ port: rig.port, total: REQUESTS, concurrency: CONCURRENCY, path, timeoutMs: 30_000, beforeEach: () => killer.maybeKill() });
  const kills = killer.kills();
  console.log(`kill 1%: ${r.requests} requests, ${kills} kills, ${failures(r)} failed (${JSON.stringify(r.gatewayErrors)}, cut ${r.cut}, hung ${r.hung}), ${r.ms} ms`);

  expect(r.wrongExamples).toEqual([]);
  expect(r.hung).toBe(0);
  expect(r.cut).toBe(0);
  // A killed php-fpm worker holds one connection (php-fpm serves one
  // connection per worker), so one kill fails at most the request on it; a
  // request sent on a kept connection in the instant between the kill and
  // postern reading its close fails too (a request written to a backend is
  // never sent again). Hence at most two failures per kill.
  expect(failures(r)).toBeLessThanOrEqual(2 * kills);
  expect(r.right + failures(r)).toBe(REQUESTS);
  expect(alive(rig.pid)).toBe(true);
  expect(rig.exited()).toBe(false);

  const after = await settle(() => openFds(rig.pid), (n) => n <= baseline + FD_MARGIN, 10_000);
  expect(after, `descriptors: baseline ${baseline}, after ${after}`).toBeLessThanOrEqual(baseline + FD_MARGIN);
  // The pool is whole again: every request is served right.
  const again = await tokenLoad({ port: rig.port, total: 100, concurrency: CONCURRENCY, path });
  expect(again.right).toBe(100);
});
