// The fault suite's scenarios, each run against a FaultRig and returning its
// figures: test/faults/ asserts on them, `bench/faults.ts` prints them for
// longer runs. Descriptor counts are taken idle (warmed up, every kept
// connection expired), so that a baseline and a later count compare.

import { processRssBytes, processTree } from "../../bench/cpu.ts";
import type { FaultRig } from "./fault-rig.ts";
import { commandName, openFds, settle } from "./proc-stats.ts";
import { randomKiller } from "./random-killer.ts";
import { tokenLoad, type TokenLoadResult } from "./token-load.ts";

/** Descriptors postern may hold above its idle baseline once everything is idle again. */
export const FD_MARGIN = 3;
/** Past postern's keepalive_timeout (1 s) for backend connections. */
const IDLE_MS = 2_500;

export const tokenPath = (token: string): string => `/token.php?t=${token}`;

/** postern's descriptors once warmed up (its pools have opened connections) and idle again. */
export async function idleFds(rig: FaultRig, concurrency: number): Promise<number> {
  await tokenLoad({ port: rig.port, total: 200, concurrency, path: tokenPath });
  return settle(() => openFds(rig.pid), () => false, IDLE_MS);
}

/** postern's descriptors once back within FD_MARGIN of `baseline`, or after `timeoutMs` whatever they are. */
export function fdsBack(rig: FaultRig, baseline: number, timeoutMs = 15_000): Promise<number> {
  return settle(() => openFds(rig.pid), (n) => n <= baseline + FD_MARGIN, timeoutMs);
}

export interface KillFigures {
  load: TokenLoadResult;
  kills: number;
  fdBaseline: number;
  fdAfter: number;
}

/** The backend processes serving the rig: php-fpm's workers, or the php-cgi processes postern spawned. */
export function backendProcesses(rig: FaultRig): number[] {
  return rig.fpm ? rig.fpm.children() : processTree(rig.pid).filter((pid) => commandName(pid) === "php-cgi");
}

/**
 * `requests` at `concurrency`, and before each one, with probability `rate`,
 * a backend process SIGKILLed. The script sleeps up to 2 ms, so that a
 * process killed is often in the middle of a request.
 */
export async function killScenario(rig: FaultRig, o: { requests: number; concurrency: number; rate: number }): Promise<KillFigures> {
  const fdBaseline = await idleFds(rig, o.concurrency);
  const killer = randomKiller(() => backendProcesses(rig), o.rate);
  const load = await tokenLoad({
    port: rig.port,
    total: o.requests,
    concurrency: o.concurrency,
    path: (token, i) => `${tokenPath(token)}&us=${(i * 7919) % 2000}`,
    timeoutMs: 30_000,
    beforeEach: () => killer.maybeKill(),
  });
  return { load, kills: killer.kills(), fdBaseline, fdAfter: await fdsBack(rig, fdBaseline) };
}

export interface ReloadFigures {
  load: TokenLoadResult;
  /** "config reloaded" lines postern logged. */
  reloaded: number;
  /** Right answers per config tag. */
  served: Record<string, number>;
  fdBaseline: number;
  fdAfter: number;
}

/** The route's `params` that tag its answers with `tag` (test/faults/fixtures/token.php). */
export const taggedRoute = (tag: string): string => `params = { CONFIG = "${tag}" }`;

/**
 * A load that runs while postern reloads `reloads` times, `pauseMs` apart,
 * its config alternating between tags "a" (the rig's, first) and "b"; each
 * reload waits for the one before to be logged. An answer is right when it
 * carries its own token and either tag.
 */
export async function reloadScenario(rig: FaultRig, o: { reloads: number; concurrency: number; pauseMs: number }): Promise<ReloadFigures> {
  const served: Record<string, number> = {};
  const accept = (token: string, body: string) => {
    const tagged = /^(\S+) ([ab])$/.exec(body);
    if (tagged?.[1] !== token) return false;
    served[tagged[2]!] = (served[tagged[2]!] ?? 0) + 1;
    return true;
  };
  const reloaded = () => rig.log().split("\n").filter((l) => l.includes("config reloaded")).length;
  const fdBaseline = await idleFds(rig, o.concurrency);
  const done = new AbortController();
  const load = tokenLoad({ port: rig.port, total: Number.MAX_SAFE_INTEGER, concurrency: o.concurrency, path: tokenPath, accept, signal: done.signal });
  try {
    for (let i = 1; i <= o.reloads; i++) {
      await new Promise((r) => setTimeout(r, o.pauseMs));
      rig.writeConfig(taggedRoute(i % 2 === 1 ? "b" : "a"));
      rig.signal("SIGHUP");
      if ((await settle(reloaded, (n) => n >= i, 15_000)) < i) break;
    }
    await new Promise((r) => setTimeout(r, o.pauseMs));
  } finally {
    done.abort();
  }
  return { load: await load, reloaded: reloaded(), served, fdBaseline, fdAfter: await fdsBack(rig, fdBaseline) };
}

export interface MemoryFigures {
  /** VmRSS in bytes after the warm-up, and after the measured requests. */
  before: number;
  after: number;
  /** [requests so far, VmRSS] after each `every` requests. */
  samples: [number, number][];
  load: TokenLoadResult[];
}

/** `warmUp` requests, then `requests` more, reading postern's RSS every `every`. */
export async function memoryScenario(rig: FaultRig, o: { warmUp: number; requests: number; every: number; concurrency: number }): Promise<MemoryFigures> {
  const run = (total: number) => tokenLoad({ port: rig.port, total, concurrency: o.concurrency, path: tokenPath });
  const load = [await run(o.warmUp)];
  const before = processRssBytes(rig.pid);
  const samples: [number, number][] = [];
  for (let done = 0; done < o.requests; ) {
    const step = Math.min(o.every, o.requests - done);
    load.push(await run(step));
    done += step;
    samples.push([done, processRssBytes(rig.pid)]);
  }
  return { before, after: samples.at(-1)?.[1] ?? before, samples, load };
}
