// When a process postern keeps running (src/supervisor.ts) exits: one that
// served, or ran past the start period (supervisord's `startsecs`), is
// restarted at once however often it is killed; only one that dies while
// starting backs off. Then a group of them on their own sockets: boot
// failures, replacement without a gap, scaling, timeouts. Real processes,
// killed by pid.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import type { Runtime } from "../src/runtime.ts";
import type { Address } from "../src/address.ts";
import { BootError, ManagedProcess, WorkerGroup, type Seats, type WorkerGroupSpec } from "../src/supervisor.ts";

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

test("a restarted process that never serves is killed when its readiness gives up, and started again", { timeout: 30_000 }, async () => {
  const { runtime, pids } = recordingRuntime();
  let ups = 0;
  managed = new ManagedProcess(runtime, {
    name: "hanging",
    cmd: ["sleep", "60"],
    env: ENV,
    // The second run never serves (a restart whose import hangs); the others do.
    ready: async () => pids.length !== 2,
    onUp: () => ups++,
    onDown: () => undefined,
  });
  managed.start();
  await waitFor(() => ups === 1);
  process.kill(pids[0]!, "SIGKILL");
  const deadline = Date.now() + 20_000;
  while (ups < 2 && Date.now() < deadline) await sleep(20);
  expect(pids.length).toBe(3);
  expect(ups).toBe(2);
});

// A group of processes on their own sockets (src/supervisor/group.ts), each
// a fake worker: a Python script that listens on the socket it is given
// (removing the one a killed run left), prints "stacks" on SIGUSR1 and exits
// 0 on SIGTERM.

const FAKE_WORKER = `
import os, signal, socket, sys, time
if os.environ.get("FAIL_BOOT"):
    print("ImportError: no module named app", file=sys.stderr)
    sys.exit(3)
if os.environ.get("HANG_BOOT"):
    print("importing a slow app", file=sys.stderr, flush=True)
    time.sleep(3600)
slow_after = os.environ.get("SLOW_AFTER")
if slow_after:
    # Every run after the first boots slowly: the marker file says one ran.
    if os.path.exists(slow_after):
        time.sleep(2.5)
    open(slow_after, "a").close()
def usr1(*_):
    print("stacks of", os.getpid(), file=sys.stderr, flush=True)
signal.signal(signal.SIGUSR1, usr1)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
if os.path.exists(sys.argv[1]):
    os.unlink(sys.argv[1])
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
while True:
    c, _ = s.accept()
    c.close()
`;

interface SeatLog {
  events: string[];
  seats: Seats<FakeSeat>;
  /** What leave() waits for, per socket: resolve to let the seat go. */
  leaving: Map<string, () => void>;
}

class FakeSeat {
  available = false;
  constructor(
    readonly name: string,
    readonly log: string[],
  ) {}
  setAvailable(available: boolean) {
    if (available !== this.available) this.log.push(`${available ? "up" : "down"} ${this.name}`);
    this.available = available;
  }
}

/** The address each fake seat joined with, by socket name. */
const joined = new Map<string, Address>();

function fakeSeats(): SeatLog {
  const events: string[] = [];
  const leaving = new Map<string, () => void>();
  const seats: Seats<FakeSeat> = {
    join: (address) => {
      const name = address.kind === "unix" ? address.path.slice(address.path.lastIndexOf("/") + 1) : "?";
      events.push(`join ${name}`);
      joined.set(name, address);
      return new FakeSeat(name, events);
    },
    leave: (seat) => {
      events.push(`leave ${seat.name}`);
      return new Promise((resolve) => leaving.set(seat.name, resolve));
    },
  };
  return { events, seats, leaving };
}

let group: WorkerGroup<FakeSeat> | undefined;
afterEach(() => group?.stop());

async function fakeGroup(runtime: Runtime, log: string[], spec: Partial<WorkerGroupSpec> = {}): Promise<WorkerGroup<FakeSeat>> {
  group = await WorkerGroup.create<FakeSeat>(
    { ...runtime, logError: (line) => log.push(line) },
    {
      name: "route",
      label: "worker",
      program: "fake",
      dirPrefix: "postern-test-",
      command: (socket) => ["/usr/bin/python3", "-c", FAKE_WORKER, socket],
      count: 1,
      env: ENV,
      user: undefined,
      logOutput: true,
      bootErrors: true,
      ...spec,
    },
  );
  return group;
}

const exists = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("a worker of the first set that cannot boot: start rejects with a BootError carrying its stderr, and it is not restarted", async () => {
  const { runtime, pids } = recordingRuntime();
  const log: string[] = [];
  const g = await fakeGroup(runtime, log, { count: 2, env: { ...ENV, FAIL_BOOT: "1" } });
  const err = await g.start(fakeSeats().seats).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BootError);
  expect((err as BootError).name).toBe("BootError");
  expect((err as BootError).message).toContain("ImportError: no module named app");
  expect((err as BootError).message).toContain("status 3");
  await sleep(1_000);
  expect(pids).toHaveLength(2);
  expect(log.filter((line) => line.includes("ImportError"))).toEqual([]);
});

test("a worker of the first set that never serves is killed at its start timeout, and start rejects with a BootError", async () => {
  const { runtime, pids } = recordingRuntime();
  const g = await fakeGroup(runtime, [], { env: { ...ENV, HANG_BOOT: "1" }, startTimeoutMs: 500 });
  const err = await g.start(fakeSeats().seats).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BootError);
  expect((err as BootError).message).toContain("importing a slow app");
  expect(exists(pids[0]!)).toBe(false);
  await sleep(500);
  expect(pids).toHaveLength(1);
});

test("replacing a worker: the new one serves before the old one leaves, and the old one gets SIGTERM only once it has left", { timeout: 30_000 }, async () => {
  const { runtime, pids } = recordingRuntime();
  const { events, seats, leaving } = fakeSeats();
  const g = await fakeGroup(runtime, [], { recycle: { maxRequests: 3, jitter: 0, maxMemory: 0 } });
  await g.start(seats);
  const old = pids[0]!;
  for (let i = 0; i < 3; i++) g.leased(joined.get("worker-0.sock")!);
  await waitFor(() => leaving.has("worker-0.sock"));
  expect(events).toEqual(["join worker-0.sock", "up worker-0.sock", "join worker-1.sock", "up worker-1.sock", "leave worker-0.sock"]);
  // Its requests in flight are not done: it runs on.
  await sleep(300);
  expect(exists(old)).toBe(true);
  leaving.get("worker-0.sock")!();
  await waitFor(() => !exists(old));
  expect(g.pids).toEqual([pids[1]]);
});

test("over max_worker_memory: a replacement still booting is not itself replaced, and the worker it replaces leaves once it serves", { timeout: 30_000 }, async () => {
  const { runtime } = recordingRuntime();
  const { events, seats } = fakeSeats();
  const marker = join(mkdtempSync(join(tmpdir(), "postern-test-")), "booted");
  // Every worker is over one byte, so every one is replaced; each replacement takes 2.5 s to serve.
  const g = await fakeGroup(runtime, [], { env: { ...ENV, SLOW_AFTER: marker }, recycle: { maxRequests: 0, jitter: 0, maxMemory: 1 } });
  await g.start(seats);
  const deadline = Date.now() + 20_000;
  while (!events.includes("leave worker-0.sock") && Date.now() < deadline) await sleep(50);
  const replacement = events.indexOf("up worker-1.sock");
  expect(replacement).toBeGreaterThan(0);
  expect(events.slice(0, replacement)).not.toContain("join worker-2.sock");
  expect(events).toContain("leave worker-0.sock");
  rmSync(marker, { force: true });
});

test("stop right after a worker died: every process gone, none started later, the sockets' directory removed", { timeout: 30_000 }, async () => {
  const { runtime, pids } = recordingRuntime();
  const g = await fakeGroup(runtime, [], { count: 2 });
  await g.start(fakeSeats().seats);
  const socket = joined.get("worker-0.sock")!;
  process.kill(pids[0]!, "SIGKILL");
  await g.stop();
  const started = pids.length;
  expect(pids.filter(exists)).toEqual([]);
  expect(existsSync(socket.kind === "unix" ? socket.path.slice(0, socket.path.lastIndexOf("/")) : "?")).toBe(false);
  await sleep(500);
  expect(pids).toHaveLength(started);
});

test("scale: one more, one fewer, never fewer than one", { timeout: 30_000 }, async () => {
  const { runtime, pids } = recordingRuntime();
  const { events, seats, leaving } = fakeSeats();
  const g = await fakeGroup(runtime, []);
  await g.start(seats);
  g.scale(1);
  await waitFor(() => events.includes("up worker-1.sock"));
  g.scale(-1);
  await waitFor(() => leaving.has("worker-1.sock"));
  leaving.get("worker-1.sock")!();
  await waitFor(() => !exists(pids[1]!));
  g.scale(-1);
  await sleep(300);
  expect(events.filter((e) => e.startsWith("leave"))).toEqual(["leave worker-1.sock"]);
  expect(g.pids).toEqual([pids[0]]);
});

test("scale down while a replacement is still booting: the replacement goes, the worker it was to replace stays", { timeout: 30_000 }, async () => {
  const { runtime } = recordingRuntime();
  const { events, seats, leaving } = fakeSeats();
  const hangs = (socket: string) => socket.endsWith("worker-2.sock");
  const g = await fakeGroup(runtime, [], {
    count: 2,
    recycle: { maxRequests: 1, jitter: 0, maxMemory: 0 },
    command: (socket) => ["/usr/bin/python3", "-c", hangs(socket) ? "import time; time.sleep(3600)" : FAKE_WORKER, socket],
  });
  await g.start(seats);
  g.leased(joined.get("worker-1.sock")!);
  await waitFor(() => events.includes("join worker-2.sock"));
  g.scale(-1);
  await waitFor(() => leaving.has("worker-2.sock"));
  leaving.get("worker-2.sock")!();
  expect(leaving.has("worker-1.sock")).toBe(false);
  // Still over its max_requests: the next request starts another replacement.
  g.leased(joined.get("worker-1.sock")!);
  await waitFor(() => events.includes("up worker-3.sock"));
  await waitFor(() => leaving.has("worker-1.sock"));
  expect(leaving.has("worker-0.sock")).toBe(false);
});

test("a worker past its timeout: a line naming it and the request, SIGUSR1 (its stacks), then SIGKILL, then a new one", { timeout: 30_000 }, async () => {
  const { runtime, pids } = recordingRuntime();
  const log: string[] = [];
  const { events, seats } = fakeSeats();
  const g = await fakeGroup(runtime, log);
  await g.start(seats);
  const old = pids[0]!;
  g.timedOut(joined.get("worker-0.sock")!, "GET /slow", 1_000);
  expect(events.at(-1)).toBe("down worker-0.sock");
  expect(log[0]).toBe(`route: worker ${old} timed out on GET /slow (timeout 1000 ms): its threads' stacks follow, then it is killed`);
  await waitFor(() => log.includes(`route: worker ${old}: stacks of ${old}`));
  // SIGUSR1 did not end it; SIGKILL does, and it is restarted on its socket.
  await waitFor(() => pids.length === 2 && events.at(-1) === "up worker-0.sock");
  expect(exists(old)).toBe(false);
});

test("a connection refused by a worker whose death is not seen yet is made again once the worker is back, not failed", { timeout: 30_000 }, async () => {
  // The runtime reports an exit late (Deno does, by a few milliseconds): the
  // socket refuses while the worker still counts as serving.
  const { runtime, pids } = recordingRuntime();
  const late: Runtime = {
    ...runtime,
    spawn: (cmd, opts) => {
      const child = runtime.spawn!(cmd, opts);
      return { ...child, pid: child.pid, kill: (signal) => child.kill(signal), exited: child.exited.then((code) => sleep(300).then(() => code)) };
    },
  };
  const { events, seats } = fakeSeats();
  const g = await fakeGroup(late, []);
  await g.start(seats);
  const address = joined.get("worker-0.sock")!;
  process.kill(pids[0]!, "SIGKILL");
  await sleep(50);
  expect(events.at(-1)).toBe("up worker-0.sock");
  const conn = await g.connect(address, () => nodeRuntime.connect(address), 5_000);
  conn.close();
  expect(pids).toHaveLength(2);
  // Given up on when the worker does not come back in time.
  await expect(g.connect(address, () => Promise.reject(new Error("refused")), 200)).rejects.toThrow("refused");
});

test("a connection refused by a worker that is back already by the time the refusal is handled is made again at once", { timeout: 30_000 }, async () => {
  const { runtime, pids } = recordingRuntime();
  const { events, seats } = fakeSeats();
  const g = await fakeGroup(runtime, []);
  await g.start(seats);
  const address = joined.get("worker-0.sock")!;
  let tries = 0;
  // The first try meets the dead worker, and is refused only after its replacement serves.
  const open = async () => {
    if (tries++ > 0) return nodeRuntime.connect(address);
    process.kill(pids[0]!, "SIGKILL");
    await waitFor(() => events.filter((e) => e === "up worker-0.sock").length === 2);
    throw new Error("refused");
  };
  const conn = await g.connect(address, open, 10_000);
  conn.close();
  expect(tries).toBe(2);
});
