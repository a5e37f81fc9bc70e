// When a process postern keeps running (src/supervisor.ts) exits: one that
// served, or ran past the start period (supervisord's `startsecs`), is
// restarted at once however often it is killed; only one that dies while
// starting backs off. Real processes, killed by pid.

import { afterEach, expect, test } from "vitest";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import type { Runtime } from "../src/runtime.ts";
import { ManagedProcess } from "../src/supervisor.ts";

const ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
/** Past the start period (1 s). */
const LIVED_MS = 1_300;

let managed: ManagedProcess | undefined;
afterEach(() => managed?.stop());

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The node runtime, recording the pid of every process it starts. */
function recordingRuntime(): { runtime: Runtime; pids: number[] } {
  const pids: number[] = [];
  const runtime: Runtime = {
    ...nodeRuntime,
    spawn: (cmd, opts) => {
      const child = nodeRuntime.spawn(cmd, opts);
      pids.push(child.pid);
      return child;
    },
  };
  return { runtime, pids };
}

async function waitFor(done: () => boolean): Promise<void> {
  while (!done()) await sleep(10);
}

/** Kills the running process `kills` times, each once `ready` for it; returns how long each restart took (ms). */
async function killRepeatedly(pids: number[], kills: number, ready: () => Promise<void>): Promise<number[]> {
  const waits: number[] = [];
  for (let kill = 1; kill <= kills; kill++) {
    await waitFor(() => pids.length === kill);
    await ready();
    const killed = Date.now();
    process.kill(pids[kill - 1]!, "SIGKILL");
    await waitFor(() => pids.length === kill + 1);
    waits.push(Date.now() - killed);
  }
  return waits;
}

// Seven kills: a back-off doubling from 100 ms would make the last restart
// wait 6.4 s.
const KILLS = 7;

test("a process killed as soon as it serves is restarted at once, however often", { timeout: 60_000 }, async () => {
  const { runtime, pids } = recordingRuntime();
  let ups = 0;
  managed = new ManagedProcess(runtime, {
    name: "server",
    cmd: ["sleep", "60"],
    env: ENV,
    ready: async () => true,
    onUp: () => ups++,
    onDown: () => undefined,
  });
  managed.start();
  const waits = await killRepeatedly(pids, KILLS, () => waitFor(() => ups === pids.length));
  expect(Math.max(...waits), `restart waits (ms): ${waits.join(", ")}`).toBeLessThan(3_000);
});

test("a process killed after its start period is restarted at once, however often", { timeout: 60_000 }, async () => {
  const { runtime, pids } = recordingRuntime();
  managed = new ManagedProcess(runtime, {
    name: "sleeper",
    cmd: ["sleep", "60"],
    env: ENV,
    // It never serves: only its run's length counts.
    ready: async (alive) => {
      await waitFor(() => !alive());
      return false;
    },
    onUp: () => undefined,
    onDown: () => undefined,
  });
  managed.start();
  const waits = await killRepeatedly(pids, KILLS, () => sleep(LIVED_MS));
  expect(Math.max(...waits), `restart waits (ms): ${waits.join(", ")}`).toBeLessThan(3_000);
});

test("a process that dies while starting is restarted after a growing back-off", { timeout: 30_000 }, async () => {
  const { runtime, pids } = recordingRuntime();
  managed = new ManagedProcess(runtime, {
    name: "failing",
    cmd: ["sh", "-c", "exit 3"],
    env: ENV,
    ready: async () => false,
    onUp: () => undefined,
    onDown: () => undefined,
  });
  managed.start();
  await sleep(1_500);
  // 100 + 200 + 400 + 800 ms of back-off: about five starts, not hundreds.
  expect(pids.length).toBeGreaterThanOrEqual(2);
  expect(pids.length).toBeLessThanOrEqual(6);
});
