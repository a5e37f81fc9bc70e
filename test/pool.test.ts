// Connection pools without a network: capacity caps, the bounded queue,
// keep-alive rules, least-busy balancing, failover and availability.

import { describe, expect, test } from "vitest";
import { parseAddress, type Address } from "../src/address.ts";
import { GatewayError } from "../src/errors.ts";
import { rendezvous } from "../src/backend/balance.ts";
import { Upstream } from "../src/backend/upstream.ts";
import type { PoolOptions } from "../src/pool.ts";

class FakeConn {
  closed = false;
  broken = false;
  constructor(readonly backend: string) {}
  close() {
    this.closed = true;
  }
}

/** What `promise` settles with within 10 ms; undefined while it is still pending. */
function soon<T>(promise: Promise<T>): Promise<T | undefined> {
  return Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(resolve, 10))]);
}

const OPTIONS: PoolOptions = { maxQueue: 10, queueTimeoutMs: 1_000, keepAliveMs: 1_000, failTimeoutMs: 10_000 };

function upstream(addresses: string[], options: Partial<PoolOptions> = {}, refuse = new Set<string>()) {
  const opened: FakeConn[] = [];
  const open = async (addr: Address) => {
    const name = addr.kind === "tcp" ? `${addr.host}:${addr.port}` : addr.path;
    if (refuse.has(name)) throw new Error(`refused ${name}`);
    const conn = new FakeConn(name);
    opened.push(conn);
    return conn;
  };
  return { up: new Upstream(addresses.map(parseAddress), open, { ...OPTIONS, ...options }), opened };
}

describe("Upstream", () => {
  test("never opens more connections than maxConns; the rest wait and get freed ones", async () => {
    const { up, opened } = upstream(["127.0.0.1:1"], { maxConns: 2 });
    const a = await up.acquire();
    const b = await up.acquire();
    let third: FakeConn | undefined;
    const waiting = up.acquire().then((l) => (third = l.conn));
    await Promise.resolve();
    expect(third).toBeUndefined();
    a.release(true);
    await waiting;
    expect(third).toBe(a.conn);
    expect(opened).toHaveLength(2);
    b.release(true);
  });

  test("queue full -> 503 with Retry-After", async () => {
    const { up } = upstream(["127.0.0.1:1"], { maxConns: 1, maxQueue: 1 });
    await up.acquire();
    const queued = up.acquire();
    const err = await up.acquire().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(503);
    expect((err as GatewayError).retryAfter).toBe(1);
    await expect(queued).rejects.toBeInstanceOf(GatewayError); // after queueTimeout
  });

  test("close: takes no new request, serves the queued ones, resolves when all are done", async () => {
    const { up } = upstream(["127.0.0.1:1"], { maxConns: 1 });
    const first = await up.acquire();
    const queued = up.acquire();
    let closed = false;
    const closing = up.close().then(() => (closed = true));
    await expect(up.acquire()).rejects.toBeInstanceOf(GatewayError);
    first.release(true);
    expect(first.conn.closed).toBe(true); // released while closing: not kept
    const second = await queued;
    await Promise.resolve();
    expect(closed).toBe(false);
    second.release(true);
    await closing;
    expect(second.conn.closed).toBe(true);
  });

  test("waiting past queueTimeout -> 503", async () => {
    const { up } = upstream(["127.0.0.1:1"], { maxConns: 1, queueTimeoutMs: 20 });
    await up.acquire();
    const err = await up.acquire().catch((e: unknown) => e);
    expect((err as GatewayError).status).toBe(503);
  });

  test("a dirty connection is closed, never reused", async () => {
    const { up, opened } = upstream(["127.0.0.1:1"], { maxConns: 1 });
    const a = await up.acquire();
    a.release(false);
    expect(a.conn.closed).toBe(true);
    const b = await up.acquire();
    expect(b.conn).not.toBe(a.conn);
    expect(opened).toHaveLength(2);
  });

  test("a connection the backend closed while idle is not leased again", async () => {
    const { up } = upstream(["127.0.0.1:1"], { maxConns: 1 });
    const a = await up.acquire();
    a.release(true);
    a.conn.broken = true;
    const b = await up.acquire();
    expect(b.conn).not.toBe(a.conn);
  });

  test("capacity unknown: no second connection before the first has been served", async () => {
    const { up, opened } = upstream(["127.0.0.1:1"]);
    const a = await up.acquire();
    let second: FakeConn | undefined;
    const waiting = up.acquire().then((l) => (second = l.conn));
    await new Promise((r) => setTimeout(r, 5));
    expect(second).toBeUndefined(); // a may still sit in the backend's backlog
    a.release(true);
    await waiting;
    expect(second).toBe(a.conn);
    expect(opened).toHaveLength(1);
  });

  test("capacity unknown: learns the backend's size and stops at it", async () => {
    const { up, opened } = upstream(["127.0.0.1:1"]);
    const a = await up.acquire();
    a.release(true); // served: attached to a worker
    const x = await up.acquire(); // reuses a
    const y = await up.acquire(); // one more connection is tried
    expect(opened).toHaveLength(2);
    x.release(true);
    // y has not been answered yet: it may wait for the worker a pins, so a goes.
    expect(x.conn.closed).toBe(true);
    y.release(true);
    expect(y.conn.closed).toBe(false);
    // The backend was full at one: requests now share the kept connection.
    const p = await up.acquire();
    const q = up.acquire();
    expect(p.conn).toBe(y.conn);
    p.release(true);
    expect((await q).conn).toBe(y.conn);
    expect(opened).toHaveLength(2);
  });

  test("capacity unknown: grows while each new connection is served", async () => {
    const { up, opened } = upstream(["127.0.0.1:1"]);
    const first = await up.acquire();
    first.release(true);
    const a = await up.acquire();
    const b = await up.acquire(); // tried, and...
    b.release(true); // ...served while a is busy: two workers
    const c = await up.acquire(); // b, kept
    expect(c.conn).toBe(b.conn);
    const d = await up.acquire(); // a third is tried
    expect(opened).toHaveLength(3);
    d.release(true); // served too: three workers
    a.release(true);
    c.release(true);
    expect(opened.filter((conn) => !conn.closed)).toHaveLength(3);
  });

  test("capacity unknown: a connection the backend has begun to answer is served, so another request gets a connection while that answer goes on", async () => {
    const { up, opened } = upstream(["127.0.0.1:1"], { keepAliveMs: 0 });
    const a = await up.acquire();
    a.answered();
    const b = await soon(up.acquire());
    expect(b).toBeDefined();
    expect(opened).toHaveLength(2);
    a.release(false);
    b!.release(false);
  });

  test("a leased connection found closed frees its room, even if its request never gives it back; a late release changes nothing", async () => {
    const { up, opened } = upstream(["127.0.0.1:1"], { maxConns: 1, queueTimeoutMs: 10_000 });
    const a = await up.acquire();
    const second = up.acquire();
    expect(await soon(second)).toBeUndefined();
    // Cut under a request that is never told (a Worker whose client left): no release comes; the queued request is served.
    (a.conn as FakeConn).broken = true;
    const b = await second;
    expect(b.conn).toBe(opened[1]);
    expect(a.conn.closed).toBe(true);
    a.release(false);
    const third = up.acquire();
    expect(await soon(third)).toBeUndefined();
    expect(opened).toHaveLength(2);
    b.release(true);
    expect((await third).conn).toBe(b.conn);
  });

  test("idle connections close after keepAliveMs", async () => {
    const { up } = upstream(["127.0.0.1:1"], { maxConns: 4, keepAliveMs: 30 });
    const a = await up.acquire();
    a.release(true);
    expect(a.conn.closed).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect(a.conn.closed).toBe(true);
  });

  test("keepAliveMs 0 turns keep-alive off", async () => {
    const { up } = upstream(["127.0.0.1:1"], { maxConns: 4, keepAliveMs: 0 });
    const a = await up.acquire();
    a.release(true);
    expect(a.conn.closed).toBe(true);
  });

  test("least busy backend first", async () => {
    const { up } = upstream(["127.0.0.1:1", "127.0.0.1:2"], { maxConns: 4 });
    const first = await up.acquire();
    const second = await up.acquire();
    expect(first.conn.backend).not.toBe(second.conn.backend);
  });

  test("a refused backend is skipped and avoided", async () => {
    const { up } = upstream(["127.0.0.1:1", "127.0.0.1:2"], { maxConns: 4 }, new Set(["127.0.0.1:1"]));
    const leases = await Promise.all([up.acquire(), up.acquire(), up.acquire()]);
    expect(leases.map((l) => l.conn.backend)).toEqual(["127.0.0.1:2", "127.0.0.1:2", "127.0.0.1:2"]);
  });

  test("every backend refused -> the connect error", async () => {
    const { up } = upstream(["127.0.0.1:1"], {}, new Set(["127.0.0.1:1"]));
    await expect(up.acquire()).rejects.toThrow(/refused/);
  });

  test("an unavailable backend (restarting) makes requests wait, not fail", async () => {
    const { up } = upstream(["unix:/x.sock"], { maxConns: 1 });
    const pool = up.pools[0]!;
    pool.setAvailable(false);
    let got = false;
    const waiting = up.acquire().then(() => (got = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toBe(false);
    pool.setAvailable(true);
    await waiting;
    expect(got).toBe(true);
  });

  test("multiplexing: one connection carries perConn requests", async () => {
    const { up, opened } = upstream(["127.0.0.1:1"]);
    up.pools[0]!.setCapacity(1, 3);
    const leases = await Promise.all([up.acquire(), up.acquire(), up.acquire()]);
    expect(opened).toHaveLength(1);
    expect(new Set(leases.map((l) => l.conn)).size).toBe(1);
  });
});

describe("Upstream, a backend that died", () => {
  const waitFor = (ms: number) => new Promise((r) => setTimeout(r, ms));

  test("capacity learned, then its kept connections closed and connects refused: the next request fails at once", async () => {
    const refuse = new Set<string>();
    const { up } = upstream(["unix:/x.sock"], {}, refuse);
    const a = await up.acquire();
    a.release(true);
    const x = await up.acquire();
    const y = await up.acquire();
    x.release(true); // y not served yet: full at one, no new connection for a while
    y.release(true);
    y.conn.broken = true; // the backend died: its kept connection closed...
    refuse.add("/x.sock"); // ...and nobody listens any more
    await expect(up.acquire()).rejects.toThrow(/refused/);
  });

  test("every backend down: the queued requests are refused at once, not left to time out", async () => {
    const refuse = new Set<string>();
    const { up } = upstream(["127.0.0.1:1"], { maxConns: 2, queueTimeoutMs: 60_000 }, refuse);
    const busy = await up.acquire();
    const stuck = await up.acquire(); // its backend died too, but no error has come back yet
    const queued = [up.acquire(), up.acquire(), up.acquire()].map((p) => p.catch((e: unknown) => e));
    refuse.add("127.0.0.1:1");
    busy.release(false); // the first queued request tries to connect and is refused...
    const [tried, ...others] = await Promise.all(queued);
    expect(tried).toEqual(new Error("refused 127.0.0.1:1"));
    for (const err of others) expect((err as GatewayError).status).toBe(502); // ...and the others do not wait
    stuck.release(false);
  });

  test("every backend down: a new request that finds room tries again, and is served once the backend is back", async () => {
    const refuse = new Set(["127.0.0.1:1"]);
    const { up } = upstream(["127.0.0.1:1"], { maxConns: 1 }, refuse);
    await expect(up.acquire()).rejects.toThrow(/refused/);
    refuse.clear();
    const lease = await up.acquire();
    expect(lease.conn.backend).toBe("127.0.0.1:1");
  });

  test("fail_timeout 0, capacity unknown: each queued request tries to connect in turn, none is left to time out", async () => {
    const refuse = new Set<string>();
    const { up } = upstream(["127.0.0.1:1"], { failTimeoutMs: 0, queueTimeoutMs: 60_000 }, refuse);
    const busy = await up.acquire();
    const queued = [up.acquire(), up.acquire()].map((p) => p.catch((e: unknown) => e));
    refuse.add("127.0.0.1:1");
    busy.release(false);
    expect(await Promise.all(queued)).toEqual([new Error("refused 127.0.0.1:1"), new Error("refused 127.0.0.1:1")]);
  });

  test("one backend down, the live one full: requests wait for the live one", async () => {
    const refuse = new Set<string>();
    const { up } = upstream(["127.0.0.1:1", "127.0.0.1:2"], { maxConns: 1 }, refuse);
    const first = await up.acquire();
    const second = await up.acquire();
    const dead = [first, second].find((l) => l.conn.backend === "127.0.0.1:1")!;
    const live = [first, second].find((l) => l.conn.backend === "127.0.0.1:2")!;
    refuse.add("127.0.0.1:1");
    const waiting = up.acquire();
    dead.release(false); // the queued request tries the dead one, fails over, waits for the live one
    await waitFor(10);
    live.release(true);
    expect((await waiting).conn).toBe(live.conn);
  });

  test("one backend down, the live one full: the queued requests do not try the down one again within fail_timeout", async () => {
    const refuse = new Set(["127.0.0.1:1"]);
    const { up } = upstream(["127.0.0.1:1", "127.0.0.1:2"], { maxConns: 1 }, refuse);
    const live = await up.acquire(); // 1 refuses: marked down, the request goes to 2
    expect(live.conn.backend).toBe("127.0.0.1:2");
    const tries: string[] = [];
    const dead = up.pools[0]!;
    const lease = dead.lease.bind(dead);
    dead.lease = () => (tries.push("again"), lease());
    const queued = [up.acquire(), up.acquire()];
    dead.setCapacity(1); // room "frees" on the down backend (as the periodic recheck finds it)
    await waitFor(20);
    expect(tries).toEqual([]);
    live.release(true);
    expect((await queued[0]!).conn).toBe(live.conn);
  });

  test("a backend postern restarts is waited for, even after a refused connection", async () => {
    const refuse = new Set(["/x.sock"]);
    const { up } = upstream(["unix:/x.sock"], { maxConns: 1 }, refuse);
    await expect(up.acquire()).rejects.toThrow(/refused/); // it died before postern knew
    const pool = up.pools[0]!;
    pool.setAvailable(false);
    let got = false;
    const waiting = up.acquire().then(() => (got = true));
    await waitFor(10);
    expect(got).toBe(false);
    refuse.clear();
    pool.setAvailable(true);
    await waiting;
    expect(got).toBe(true);
  });
});

describe("Upstream, multiplexed", () => {
  test("a connection that broke while in use is replaced, never waited on", async () => {
    const { up, opened } = upstream(["127.0.0.1:1"]);
    up.pools[0]!.setCapacity(1, 3);
    const first = await up.acquire();
    first.conn.broken = true;
    const second = await up.acquire();
    expect(second.conn).not.toBe(first.conn);
    expect(opened).toHaveLength(2);
  });
});

describe("Upstream, balancing policies", () => {
  const FOUR = ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4"];

  test("round_robin: each request goes one backend further, whatever their load", async () => {
    const { up } = upstream(FOUR, { maxConns: 4, balance: "round_robin" });
    const leases = [];
    for (let i = 0; i < 6; i++) leases.push(await up.acquire());
    expect(leases.map((l) => l.conn.backend)).toEqual([...FOUR, ...FOUR.slice(0, 2)]);
  });

  test("hash: a key sticks to one backend; when that one refuses, its keys go to one other, and come back", async () => {
    const refuse = new Set<string>();
    const { up, opened } = upstream(FOUR, { maxConns: 8, balance: "hash", failTimeoutMs: 0 }, refuse);
    const home = async (key: string) => {
      const lease = await up.acquire(undefined, key);
      lease.release(true);
      return lease.conn.backend;
    };
    const keys = Array.from({ length: 40 }, (_, i) => `client-${i}`);
    const before = new Map<string, string>();
    for (const key of keys) before.set(key, await home(key));
    for (const key of keys) expect(await home(key)).toBe(before.get(key));
    expect(new Set(before.values()).size).toBe(4);
    const gone = before.get("client-0")!;
    refuse.add(gone);
    for (const conn of opened) conn.broken ||= conn.backend === gone;
    for (const key of keys) {
      const now = await home(key);
      if (before.get(key) === gone) expect(now).not.toBe(gone);
      else expect(now).toBe(before.get(key));
    }
    refuse.clear();
    for (const key of keys) expect(await home(key)).toBe(before.get(key));
  });

  test("hash, capacity unknown: a key's backend with no room yet is waited for, not left", async () => {
    const { up } = upstream(FOUR.slice(0, 2), { balance: "hash" });
    const first = await up.acquire(undefined, "k");
    // The first connection has not been answered yet: the pool holds back.
    const second = up.acquire(undefined, "k");
    expect(await soon(second)).toBeUndefined();
    first.release(true);
    expect((await second).backend).toBe(first.backend);
  });

  test("hash, capacity unknown: a key waiting for its backend moves on when that backend is taken out", async () => {
    const { up } = upstream(FOUR.slice(0, 2), { balance: "hash" });
    const first = await up.acquire(undefined, "k");
    const second = up.acquire(undefined, "k");
    expect(await soon(second)).toBeUndefined();
    up.pools.find((p) => p.address === first.backend)!.setCheckedUp(false);
    expect((await second).conn.backend).not.toBe(first.conn.backend);
  });

  test("hash, capacity unknown: max_queue bounds the requests waiting for each backend and for any, together", async () => {
    const two = FOUR.slice(0, 2);
    const { up } = upstream(two, { balance: "hash", maxQueue: 2 });
    const keys = Array.from({ length: 40 }, (_, i) => `client-${i}`);
    const [a, b] = two.map((_, i) => keys.find((k) => rendezvous(two, k)[0] === i)!);
    const busy = [await up.acquire(undefined, a), await up.acquire(undefined, b)];
    expect(busy.map((l) => l.conn.backend)).toEqual(two);
    const waiting = [up.acquire(undefined, a), up.acquire(undefined, b)];
    const err = await up.acquire(undefined, a).catch((e: unknown) => e);
    expect((err as GatewayError).status).toBe(503);
    for (const lease of busy) lease.release(true);
    expect((await Promise.all(waiting)).map((l) => l.conn.backend)).toEqual(two);
  });

  test("hash: a full backend's keys fall to the next of their order, not to the queue", async () => {
    const { up } = upstream(FOUR, { maxConns: 1, balance: "hash" });
    const first = await up.acquire(undefined, "k");
    const second = await up.acquire(undefined, "k");
    expect(second.conn.backend).not.toBe(first.conn.backend);
  });
});

describe("Upstream, passive and active health", () => {
  test("a backend that dropped a request on a new connection is avoided for failTimeout", async () => {
    const { up } = upstream(["127.0.0.1:1", "127.0.0.1:2"], { maxConns: 4 });
    const lease = await up.acquire();
    expect(lease.reused).toBe(false);
    lease.fail(new Error("reset"));
    lease.release(false);
    const next = await Promise.all([up.acquire(), up.acquire(), up.acquire()]);
    expect(next.map((l) => l.conn.backend)).toEqual(Array(3).fill(next[0]!.conn.backend));
    expect(next[0]!.conn.backend).not.toBe(lease.conn.backend);
  });

  test("a lone backend that dropped a request is not avoided: requests still queue for it", async () => {
    const { up } = upstream(["127.0.0.1:1"], { maxConns: 1 });
    const lease = await up.acquire();
    lease.fail(new Error("reset"));
    expect(up.pools[0]!.healthy).toBe(true);
    const queued = up.acquire();
    lease.release(false);
    expect((await queued).backend).toBe(lease.backend);
  });

  test("a kept connection leased again says so", async () => {
    const { up } = upstream(["127.0.0.1:1"], { maxConns: 1 });
    const a = await up.acquire();
    a.release(true);
    expect((await up.acquire()).reused).toBe(true);
  });

  test("a backend its health check took out gets no request, even with room; back when it passes", async () => {
    const { up } = upstream(["127.0.0.1:1", "127.0.0.1:2"], { maxConns: 4 });
    up.pools[0]!.setCheckedUp(false);
    const leases = await Promise.all([up.acquire(), up.acquire(), up.acquire()]);
    expect(leases.map((l) => l.conn.backend)).toEqual(["127.0.0.1:2", "127.0.0.1:2", "127.0.0.1:2"]);
    up.pools[0]!.setCheckedUp(true);
    expect((await up.acquire()).conn.backend).toBe("127.0.0.1:1");
  });

  test("every backend taken out by its health check: requests fail at once, queued ones too", async () => {
    const { up } = upstream(["127.0.0.1:1", "127.0.0.1:2"], { maxConns: 1 });
    await up.acquire();
    await up.acquire();
    const queued = up.acquire();
    up.pools[0]!.setCheckedUp(false);
    up.pools[1]!.setCheckedUp(false);
    await expect(queued).rejects.toMatchObject({ status: 502 });
    await expect(up.acquire()).rejects.toMatchObject({ status: 502 });
  });

  test("retry: a backend not tried that has room; a busy one is waited for, never one tried; none left -> undefined", async () => {
    const { up } = upstream(["127.0.0.1:1", "127.0.0.1:2"], { maxConns: 1 });
    const first = await up.acquire();
    const again = await up.retry(new Set([first.backend]))!;
    expect(again.backend).not.toBe(first.backend);
    const waiting = up.retry(new Set([first.backend]))!;
    expect(await soon(waiting)).toBeUndefined();
    first.release(true);
    expect(await soon(waiting)).toBeUndefined();
    again.release(true);
    expect((await waiting).backend).toBe(again.backend);
    expect(up.retry(new Set([first.backend, again.backend]))).toBeUndefined();
  });
});
