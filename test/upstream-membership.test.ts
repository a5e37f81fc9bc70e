// Backends joining and leaving a route at run time (src/backend/upstream.ts
// join/leave), as replaced workers do: without a network, with fake
// connections.

import { describe, expect, test } from "vitest";
import { parseAddress, type Address } from "../src/address.ts";
import { Upstream } from "../src/backend/upstream.ts";
import type { BalancePolicy } from "../src/backend/options.ts";
import type { PoolOptions } from "../src/pool.ts";

class FakeConn {
  closed = false;
  broken = false;
  constructor(readonly backend: string) {}
  close() {
    this.closed = true;
  }
}

const OPTIONS: PoolOptions = { maxConns: 1, maxQueue: 10, queueTimeoutMs: 1_000, keepAliveMs: 1_000, failTimeoutMs: 10_000 };

function upstream(addresses: string[], options: Partial<PoolOptions> = {}) {
  const open = async (addr: Address) => new FakeConn(addr.kind === "unix" ? addr.path : `${addr.host}:${addr.port}`);
  return new Upstream<FakeConn>(addresses.map(parseAddress), open, { ...OPTIONS, ...options });
}

/** Whether `promise` has settled after the pending callbacks ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 5));
  return done;
}

describe("join", () => {
  test("a backend that joins takes requests", async () => {
    const up = upstream(["unix:/a"]);
    const a = await up.acquire();
    up.join(parseAddress("unix:/b"));
    const b = await up.acquire();
    expect(b.conn.backend).toBe("/b");
    a.release(true);
    b.release(true);
  });

  test("a queued request goes to a backend that joins and becomes available", async () => {
    const up = upstream(["unix:/a"]);
    const a = await up.acquire();
    const queued = up.acquire();
    const pool = up.join(parseAddress("unix:/b"));
    pool.setAvailable(false);
    expect(await settled(queued)).toBe(false);
    pool.setAvailable(true);
    expect((await queued).conn.backend).toBe("/b");
    a.release(true);
  });

  test("a route with no backend yet queues requests until one joins", async () => {
    const up = upstream([]);
    const queued = up.acquire();
    expect(await settled(queued)).toBe(false);
    up.join(parseAddress("unix:/a")).setAvailable(true);
    expect((await queued).conn.backend).toBe("/a");
  });
});

describe("leave", () => {
  test("no new request goes to a leaving backend; it leaves once its requests are done", async () => {
    const up = upstream(["unix:/a", "unix:/b"], { maxConns: 2 });
    const onA = await up.acquire();
    expect(onA.conn.backend).toBe("/a");
    const leaving = up.leave(up.pools[0]!);
    const next = await up.acquire();
    expect(next.conn.backend).toBe("/b");
    expect(await settled(leaving)).toBe(false);
    onA.release(true);
    await leaving;
    expect(onA.conn.closed).toBe(true); // not kept for a backend that left
    expect(up.pools.map((p) => p.address)).toEqual([parseAddress("unix:/b")]);
    next.release(true);
  });

  test("an idle backend leaves at once and its kept connections close", async () => {
    const up = upstream(["unix:/a", "unix:/b"]);
    const lease = await up.acquire();
    lease.release(true);
    await up.leave(up.pools[0]!);
    expect(lease.conn.closed).toBe(true);
    expect(up.pools).toHaveLength(1);
  });

  test("requests queued while the only backend is replaced wait for the new one, none fails", async () => {
    const up = upstream(["unix:/old"]);
    const busy = await up.acquire();
    const queued = [up.acquire(), up.acquire()];
    const fresh = up.join(parseAddress("unix:/new"));
    fresh.setAvailable(false);
    const leaving = up.leave(up.pools[0]!);
    fresh.setAvailable(true);
    const first = await queued[0]!;
    expect(first.conn.backend).toBe("/new");
    busy.release(true);
    await leaving;
    first.release(true);
    expect((await queued[1]!).conn.backend).toBe("/new");
  });

  test("a sticky request waiting for a backend that leaves moves to the next of its order", async () => {
    const up = upstream(["unix:/a", "unix:/b"], { maxConns: undefined, balance: "hash" as BalancePolicy });
    // Capacity unknown and a connection not yet answered: a sticky request waits for its backend.
    const key = "client";
    const first = await up.acquire(undefined, key);
    const home = up.pools.find((p) => p.address.kind === "unix" && p.address.path === first.conn.backend)!;
    const waiting = up.acquire(undefined, key);
    expect(await settled(waiting)).toBe(false);
    void up.leave(home);
    const moved = await waiting;
    expect(moved.conn.backend).not.toBe(first.conn.backend);
    first.release(true);
    moved.release(true);
  });

  test("round_robin keeps turning over the backends as they change", async () => {
    const up = upstream(["unix:/a", "unix:/b"], { maxConns: 8, balance: "round_robin" as BalancePolicy });
    up.join(parseAddress("unix:/c"));
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const lease = await up.acquire();
      seen.push(lease.conn.backend);
      lease.release(true);
    }
    expect(seen.sort()).toEqual(["/a", "/b", "/c"]);
    await up.leave(up.pools[1]!);
    const after = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const lease = await up.acquire();
      after.add(lease.conn.backend);
      lease.release(true);
    }
    expect([...after].sort()).toEqual(["/a", "/c"]);
  });
});
