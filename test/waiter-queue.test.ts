// The bounded, timed waiter queue shared by the script slots and the backend
// connection pools: order, bound, timeout and withdrawal.

import { describe, expect, test } from "vitest";
import type { GatewayError } from "../src/errors.ts";
import { WaiterQueue, type WaiterQueueOptions } from "../src/waiter-queue.ts";

const OPTIONS: WaiterQueueOptions = { maxQueue: 2, timeoutMs: 1_000, what: "a thing" };

describe("WaiterQueue", () => {
  test("the oldest waiter is served first", async () => {
    const queue = new WaiterQueue<string>(OPTIONS);
    const first = queue.wait();
    const second = queue.wait();
    queue.shift()!.resolve("a");
    queue.shift()!.resolve("b");
    expect([await first, await second]).toEqual(["a", "b"]);
    expect(queue.shift()).toBeUndefined();
  });

  test("queue full -> 503 with Retry-After", async () => {
    const queue = new WaiterQueue<string>(OPTIONS);
    void queue.wait().catch(() => undefined);
    void queue.wait().catch(() => undefined);
    const err = (await queue.wait().catch((e: unknown) => e)) as GatewayError;
    expect([err.status, err.retryAfter]).toEqual([503, 1]);
    expect(queue.length).toBe(2);
  });

  test("waiting past the timeout -> 503 with Retry-After, and the owner is told", async () => {
    let left = 0;
    const queue = new WaiterQueue<string>({ ...OPTIONS, timeoutMs: 20, onLeave: () => left++ });
    const err = (await queue.wait().catch((e: unknown) => e)) as GatewayError;
    expect([err.status, err.retryAfter, err.message]).toEqual([503, 1, "waited over 20 ms for a thing"]);
    expect([queue.length, left]).toEqual([0, 1]);
  });

  test("a client that leaves is withdrawn (499), and the owner is told", async () => {
    let left = 0;
    const queue = new WaiterQueue<string>({ ...OPTIONS, onLeave: () => left++ });
    let cancel = (): void => undefined;
    const waiting = queue.wait((c) => (cancel = c)).catch((e: GatewayError) => e.status);
    cancel();
    expect(await waiting).toBe(499);
    expect([queue.length, left]).toEqual([0, 1]);
  });

  test("a waiter taken off the queue no longer times out", async () => {
    const queue = new WaiterQueue<string>({ ...OPTIONS, timeoutMs: 10 });
    const waiting = queue.wait();
    const waiter = queue.shift()!;
    await new Promise((r) => setTimeout(r, 30));
    waiter.resolve("late");
    expect(await waiting).toBe("late");
  });
});
