// The active health checker (src/backend/health.ts) with a scripted probe:
// when a backend is taken out and brought back, the lazy mode of runtimes
// without background timers, and that nothing runs after close().

import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, test } from "vitest";
import { parseAddress, type Address } from "../src/address.ts";
import { HealthChecker, type Probe } from "../src/backend/health.ts";
import type { HealthOptions } from "../src/backend/options.ts";

const OPTIONS: HealthOptions = { path: "/ping", interval: 10, timeout: 1_000, status: 200, passes: 2, fails: 3 };

class Target {
  readonly changes: boolean[] = [];
  busy = false;
  freed = 0;
  freeWorker() {
    this.freed++;
  }
  constructor(readonly address: Address) {}
  setCheckedUp(up: boolean) {
    this.changes.push(up);
  }
}

/** A probe answering each backend with what `answers` says at the time; counts its calls. */
function scripted(answers: Map<string, number | "refuse" | "hang">) {
  const calls: string[] = [];
  const probe: Probe = async (address, path) => {
    const name = address.kind === "tcp" ? `${address.host}:${address.port}` : address.path;
    calls.push(`${name}${path}`);
    const answer = answers.get(name) ?? 200;
    if (answer === "refuse") throw new Error("refused");
    if (answer === "hang") return new Promise<number>(() => undefined);
    return answer;
  };
  return { probe, calls };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) await sleep(5);
  expect(condition()).toBe(true);
}

const checkers: HealthChecker[] = [];
afterEach(() => {
  for (const checker of checkers.splice(0)) checker.close();
});

function start(targets: Target[], probe: Probe, options: Partial<HealthOptions> = {}, lazy = false, log: string[] = []) {
  const checker = new HealthChecker(targets, probe, { ...OPTIONS, ...options }, { lazy, log: (line) => log.push(line) });
  checkers.push(checker);
  return checker;
}

describe("HealthChecker", () => {
  test("taken out after `fails` failures in a row, back after `passes` passes; the other untouched", async () => {
    const a = new Target(parseAddress("127.0.0.1:1"));
    const b = new Target(parseAddress("127.0.0.1:2"));
    const answers = new Map<string, number | "refuse" | "hang">([["127.0.0.1:1", "refuse"]]);
    const { probe, calls } = scripted(answers);
    const log: string[] = [];
    start([a, b], probe, {}, false, log);
    await until(() => a.changes.length === 1);
    expect(a.changes).toEqual([false]);
    expect(calls.filter((c) => c === "127.0.0.1:1/ping").length).toBeGreaterThanOrEqual(3);
    expect(log).toEqual(["127.0.0.1:1: failed its health check /ping; taken out"]);
    answers.set("127.0.0.1:1", 200);
    await until(() => a.changes.length === 2);
    expect(a.changes).toEqual([false, true]);
    expect(b.changes).toEqual([]);
  });

  test("a failure streak broken by a pass starts again", async () => {
    const a = new Target(parseAddress("127.0.0.1:1"));
    let n = 0;
    // fail, fail, pass, fail, fail, pass, ...: never three in a row.
    const probe: Probe = async () => (++n % 3 === 0 ? 200 : 500);
    start([a], probe);
    await until(() => n >= 30);
    expect(a.changes).toEqual([]);
  });

  test("another status than `status` fails; a probe that hangs fails after `timeout`", async () => {
    const a = new Target(parseAddress("127.0.0.1:1"));
    const b = new Target(parseAddress("127.0.0.1:2"));
    const { probe } = scripted(new Map<string, number | "refuse" | "hang">([["127.0.0.1:1", 404], ["127.0.0.1:2", "hang"]]));
    start([a, b], probe, { fails: 1, timeout: 20 });
    await until(() => a.changes.length === 1 && b.changes.length === 1);
    expect([a.changes, b.changes]).toEqual([[false], [false]]);
  });

  test("an unanswered check of a backend whose workers postern holds does not count: busy, not gone", async () => {
    const a = new Target(parseAddress("127.0.0.1:1"));
    a.busy = true;
    const { probe, calls } = scripted(new Map<string, number | "refuse" | "hang">([["127.0.0.1:1", "hang"]]));
    start([a], probe, { fails: 1, timeout: 10 });
    await until(() => calls.length >= 5);
    expect(a.changes).toEqual([]);
    a.busy = false;
    await until(() => a.changes.length === 1);
  });

  test("a busy backend that answers its check with another status is taken out: that is an answer", async () => {
    const a = new Target(parseAddress("127.0.0.1:1"));
    a.busy = true;
    const { probe } = scripted(new Map<string, number | "refuse" | "hang">([["127.0.0.1:1", 503]]));
    start([a], probe, { fails: 2 });
    await until(() => a.changes.length === 1);
    expect(a.changes).toEqual([false]);
  });

  test("close(): no check runs after it, and a check running at close changes nothing", async () => {
    const a = new Target(parseAddress("127.0.0.1:1"));
    const { probe, calls } = scripted(new Map<string, number | "refuse" | "hang">([["127.0.0.1:1", "refuse"]]));
    const checker = start([a], probe, { fails: 100 });
    await until(() => calls.length >= 2);
    checker.close();
    const seen = calls.length;
    await sleep(100);
    expect(calls.length).toBe(seen);
    expect(a.changes).toEqual([]);
  });

  test("close() tells a check in flight to let go of its connection", async () => {
    const a = new Target(parseAddress("127.0.0.1:1"));
    const signals: AbortSignal[] = [];
    const probe: Probe = (_address, _path, _timeout, stop) => {
      signals.push(stop);
      return new Promise<number>(() => undefined);
    };
    const checker = start([a], probe);
    await until(() => signals.length === 1);
    expect(signals[0]!.aborted).toBe(false);
    checker.close();
    expect(signals[0]!.aborted).toBe(true);
  });

  test("a check past its timeout tells the probe to let go of its connection, and counts as failed", async () => {
    const a = new Target(parseAddress("127.0.0.1:1"));
    const signals: AbortSignal[] = [];
    const probe: Probe = (_address, _path, _timeout, stop) => {
      signals.push(stop);
      return new Promise<number>(() => undefined);
    };
    start([a], probe, { timeout: 50, fails: 1, interval: 60_000 });
    await until(() => a.changes.length === 1);
    expect(signals[0]!.aborted).toBe(true);
    expect(a.changes).toEqual([false]);
  });

  test("lazy (no background timers): nothing runs until a request asks; due() runs the due checks and waits for them", async () => {
    const a = new Target(parseAddress("127.0.0.1:1"));
    const { probe, calls } = scripted(new Map<string, number | "refuse" | "hang">([["127.0.0.1:1", "refuse"]]));
    const checker = start([a], probe, { fails: 2, interval: 60_000 }, true);
    await sleep(50);
    expect(calls).toEqual([]);
    await checker.due();
    expect(calls).toHaveLength(1);
    await checker.due(); // not due again for an interval
    expect(calls).toHaveLength(1);
    expect(a.changes).toEqual([]);
  });

  test("lazy: a request that finds another's check running does not wait for it (on Workers that check's promise belongs to the other request)", async () => {
    const a = new Target(parseAddress("127.0.0.1:1"));
    let answer: (status: number) => void = () => undefined;
    const probe: Probe = () => new Promise<number>((resolve) => (answer = resolve));
    const checker = start([a], probe, { interval: 60_000, timeout: 60_000 }, true);
    const first = checker.due();
    let second = false;
    void checker.due().then(() => (second = true));
    await until(() => second);
    answer(200);
    await first;
  });

  test("lazy: a check whose request went away without it settling (Workers) is begun again once its timeout has passed", async () => {
    const a = new Target(parseAddress("127.0.0.1:1"));
    const { probe, calls } = scripted(new Map<string, number | "refuse" | "hang">([["127.0.0.1:1", "hang"]]));
    const checker = start([a], probe, { interval: 10, timeout: 100 }, true);
    // Its request gone, the check's own timer never fires: seen here as a clock that moved on alone.
    const now = Date.now();
    void checker.due();
    expect(calls).toHaveLength(1);
    const realNow = Date.now;
    Date.now = () => now + 5_000;
    try {
      void checker.due();
    } finally {
      Date.now = realNow;
    }
    expect(calls).toHaveLength(2);
  });
});
