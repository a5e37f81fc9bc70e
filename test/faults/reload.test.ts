// SIGHUP reloads under load: each one starts the new config's routes and
// pools and retires the old ones once their requests in flight are done, so
// not one request fails or gets an answer it should not (README "Signals").

import { afterAll, beforeAll, expect, test } from "vitest";
import { requireBinary } from "../helpers/binaries.ts";
import { startFaultRig, PHP_FPM_NAMES, type FaultRig } from "../helpers/fault-rig.ts";
import { alive, settle } from "../helpers/proc-stats.ts";
import { failures, tokenLoad } from "../helpers/token-load.ts";

const PHP_FPM = requireBinary(PHP_FPM_NAMES, "php-fpm");
const RELOADS = 10;
const CONCURRENCY = 16;
const config = (tag: string) => `env = { CONFIG = "${tag}" }`;

let rig: FaultRig;
beforeAll(async () => {
  rig = await startFaultRig({ children: 4, phpFpm: PHP_FPM!, routeExtra: config("a") });
});
afterAll(() => rig?.stop());

test.skipIf(!PHP_FPM)(`${RELOADS} SIGHUP reloads under load, alternating two configs: no request fails`, { timeout: 120_000 }, async () => {
  const seen = new Map<string, number>();
  const accept = (token: string, body: string) => {
    const tag = /^(\S+) ([ab])$/.exec(body);
    if (tag?.[1] !== token) return false;
    seen.set(tag[2]!, (seen.get(tag[2]!) ?? 0) + 1);
    return true;
  };
  const reloads = () => rig.log().split("\n").filter((l) => l.includes("config reloaded")).length;
  const done = new AbortController();
  const load = tokenLoad({ port: rig.port, total: 1_000_000, concurrency: CONCURRENCY, path: (t) => `/token.php?t=${t}`, accept, signal: done.signal });
  try {
    for (let i = 1; i <= RELOADS; i++) {
      await new Promise((r) => setTimeout(r, 300));
      rig.writeConfig(config(i % 2 === 1 ? "b" : "a"));
      rig.signal("SIGHUP");
      const count = await settle(reloads, (n) => n >= i, 15_000);
      expect(count, rig.log()).toBe(i);
    }
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    done.abort();
  }
  const r = await load;
  console.log(`reloads: ${RELOADS} under ${r.requests} requests (${JSON.stringify(Object.fromEntries(seen))}), ${failures(r)} failed, ${r.wrong} wrong`);
  expect(r.wrongExamples).toEqual([]);
  expect({ gatewayErrors: r.gatewayErrors, cut: r.cut, hung: r.hung }).toEqual({ gatewayErrors: {}, cut: 0, hung: 0 });
  expect(r.right).toBe(r.requests);
  // Both configs served (the last one, "a", after an even count of reloads).
  expect([...seen.keys()].sort()).toEqual(["a", "b"]);
  expect(rig.log()).not.toContain("the running config stays");
  expect(alive(rig.pid)).toBe(true);
});
