// SIGHUP reloads under load: each one starts the new config's routes and
// pools (and, for a spawned backend, its processes) and retires the old ones
// once their requests in flight are done, so not one request fails or gets
// an answer it should not (README "Signals").

import { afterEach, describe, expect, test } from "vitest";
import { requireBinary } from "../helpers/binaries.ts";
import { startFaultRig, PHP_FPM_NAMES, type FaultBackend, type FaultRig } from "../helpers/fault-rig.ts";
import { alive, commandName, descendants, openFds, settle } from "../helpers/proc-stats.ts";
import { failures, tokenLoad } from "../helpers/token-load.ts";

const PHP_FPM = requireBinary(PHP_FPM_NAMES, "php-fpm");
const PHP_CGI = requireBinary(["php-cgi"], "php-cgi");
const RELOADS = 10;
const CONCURRENCY = 16;
/** Descriptors postern may hold above its idle baseline once everything is idle again. */
const FD_MARGIN = 3;
const config = (tag: string) => `env = { CONFIG = "${tag}" }`;

let rig: FaultRig | undefined;
afterEach(() => rig?.stop());

async function reloadsUnderLoad(backend: FaultBackend): Promise<void> {
  const r0 = (rig = await startFaultRig({ backend, routeExtra: config("a") }));
  const seen = new Map<string, number>();
  const accept = (token: string, body: string) => {
    const tag = /^(\S+) ([ab])$/.exec(body);
    if (tag?.[1] !== token) return false;
    seen.set(tag[2]!, (seen.get(tag[2]!) ?? 0) + 1);
    return true;
  };
  const reloads = () => r0.log().split("\n").filter((l) => l.includes("config reloaded")).length;
  // The idle baseline: warmed up, kept connections expired (keepalive_timeout, 1 s).
  await tokenLoad({ port: r0.port, total: 200, concurrency: CONCURRENCY, path: (t) => `/token.php?t=${t}`, accept });
  const baseline = await settle(() => openFds(r0.pid), () => false, 2_500);
  const done = new AbortController();
  const load = tokenLoad({ port: r0.port, total: 1_000_000, concurrency: CONCURRENCY, path: (t) => `/token.php?t=${t}`, accept, signal: done.signal });
  try {
    for (let i = 1; i <= RELOADS; i++) {
      await new Promise((r) => setTimeout(r, 300));
      r0.writeConfig(config(i % 2 === 1 ? "b" : "a"));
      r0.signal("SIGHUP");
      const count = await settle(reloads, (n) => n >= i, 15_000);
      expect(count, r0.log()).toBe(i);
    }
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    done.abort();
  }
  const r = await load;
  console.log(`reloads (${Object.keys(backend)[0]}): ${RELOADS} under ${r.requests} requests (${JSON.stringify(Object.fromEntries(seen))}), ${failures(r)} failed, ${r.wrong} wrong`);
  expect(r.wrongExamples).toEqual([]);
  expect({ gatewayErrors: r.gatewayErrors, cut: r.cut, hung: r.hung }).toEqual({ gatewayErrors: {}, cut: 0, hung: 0 });
  expect(r.right).toBe(r.requests);
  // Both configs served (the last one, "a", after an even count of reloads).
  expect([...seen.keys()].sort()).toEqual(["a", "b"]);
  expect(r0.log()).not.toContain("the running config stays");
  expect(alive(r0.pid)).toBe(true);
  // The retired configs gave back their connections and their processes.
  const fds = await settle(() => openFds(r0.pid), (n) => n <= baseline + FD_MARGIN, 10_000);
  expect(fds, `descriptors: baseline ${baseline}, after ${fds}`).toBeLessThanOrEqual(baseline + FD_MARGIN);
  if ("procs" in backend) {
    const phpCgi = () => descendants(r0.pid).filter((pid) => commandName(pid) === "php-cgi").length;
    expect(await settle(phpCgi, (n) => n === backend.procs, 10_000)).toBe(backend.procs);
  }
}

describe(`${RELOADS} SIGHUP reloads under load, alternating two configs: no request fails`, () => {
  test.skipIf(!PHP_FPM)("php-fpm", { timeout: 120_000 }, () => reloadsUnderLoad({ phpFpm: PHP_FPM!, children: 4 }));
  test.skipIf(!PHP_CGI)("php-cgi processes postern spawns", { timeout: 120_000 }, () => reloadsUnderLoad({ phpCgi: PHP_CGI!, procs: 4 }));
});
