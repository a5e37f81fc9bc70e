// The keep-alive connections to one backend (src/backend/upstream.ts holds
// a route's backends together): capped at the backend's capacity, and marked
// down when the backend fails.
//
// Why the cap matters: a backend such as php-fpm serves one connection per
// child and keeps a kept-alive connection pinned to its child. More kept
// connections than children leave new connections waiting in the listen
// backlog behind idle ones, and clients starve (nginx with `keepalive` to a
// small php-fpm pool does this). So a kept connection is reused only when
// it cannot be pinning a child that another connection waits for.
//
// When the capacity is known, the pool never opens more connections than it.
// When it is not (php-fpm does not tell), the pool learns it: a connection
// the backend has begun to answer is "attached" to a child of its own. A new
// connection is opened only while none is waiting for its first answer, so at
// most one may sit in the backlog; if one does when an attached connection
// comes free, that one is closed to free its child, and no new connection is
// tried for a while: the backend is full at the number attached.
//
// A backend that refuses a connection, does not take one within
// connect_timeout, or (one of several) drops a request before its answer on a
// new connection or sends no answer within first_byte_timeout is marked down
// for fail_timeout (nginx's max_fails=1). An
// active health check (src/backend/health.ts) can take a backend out too: it
// then gets no request at all until a check brings it back.

import type { Address } from "./address.ts";
import type { BalancePolicy } from "./backend/options.ts";
import type { Upstream } from "./backend/upstream.ts";
import type { BackendStats } from "./metrics/stats.ts";

export interface Closable {
  close(): void;
  /** A connection that broke or was closed by the backend while idle is not leased again. */
  readonly broken: boolean;
}

export interface PoolOptions {
  /** Connections the backend serves at once; undefined while unknown. */
  maxConns?: number;
  /** Requests one connection carries at once (more than 1 only for multiplexing backends). */
  perConn?: number;
  /** Requests that may wait for a free connection; beyond it, 503. */
  maxQueue: number;
  /** Longest wait in the queue before 503. */
  queueTimeoutMs: number;
  /** An idle kept connection is closed after this long; 0 turns keep-alive off. */
  keepAliveMs: number;
  /** A backend that refused a connection or dropped a request is avoided for this long. */
  failTimeoutMs: number;
  /** How requests are spread over the backends; default least_conn. */
  balance?: BalancePolicy;
}

/** Connections opened at once to a backend whose capacity is unknown. */
const UNKNOWN_CAPACITY_CONNS = 128;
/** Capacity unknown: after finding the backend full, how long before trying one more connection. */
const FULL_BACKOFF_MS = 5_000;

export interface Lease<C extends Closable> {
  readonly conn: C;
  readonly backend: Address;
  /** The connection carried a request before (kept alive): the backend may have closed it while it sat idle. */
  readonly reused: boolean;
  /** The backend dropped the request or timed out before its answer: avoid it for fail_timeout (when the route has others). */
  fail(err: unknown): void;
  /**
   * The backend closed this kept connection while it sat idle: it may have
   * closed its other idle ones too (a restart closes them all), so they go,
   * and the request is sent again on a new connection.
   */
  stale(): void;
  /** The backend has begun to answer on the connection: it has a worker of its own (capacity learning). */
  answered(): void;
  /** Gives the connection back: reusable only when it is clean (no unread bytes, no request in flight). */
  release(reusable: boolean): void;
}

interface Entry<C> {
  conn: C;
  inUse: number;
  idleSince: number;
  /** The backend has answered on it: it has a worker of its own. */
  attached: boolean;
  /** Requests leased on it so far. */
  uses: number;
}

export class BackendPool<C extends Closable> {
  readonly address: Address;
  readonly #open: (addr: Address) => Promise<C>;
  readonly #upstream: Upstream<C>;
  #maxConns: number | undefined;
  #perConn: number;
  #entries: Entry<C>[] = [];
  /** Connections being opened. */
  #opening: Promise<Entry<C>>[] = [];
  /** Leases being set up (waiting for a connection to open): counted in the load. */
  #reserved = 0;
  #downUntil = 0;
  #available = true;
  /** It left the route (Upstream.leave): no new request, no connection kept. */
  #retired = false;
  /** Set by the active health check: false takes the backend out. */
  #checkedUp = true;
  /** Capacity unknown: the most connections seen attached at once. */
  #learned = 0;
  /** Capacity unknown: no new connection is tried before this time. */
  #fullUntil = 0;
  #sweep: ReturnType<typeof setTimeout> | undefined;

  constructor(upstream: Upstream<C>, address: Address, open: (addr: Address) => Promise<C>, options: PoolOptions) {
    this.#upstream = upstream;
    this.address = address;
    this.#open = open;
    this.#maxConns = options.maxConns;
    this.#perConn = options.perConn ?? 1;
  }

  /** Sets what the backend can take, once it is known (from the backend or the config). */
  setCapacity(maxConns: number | undefined, perConn = 1): void {
    this.#maxConns = maxConns;
    this.#perConn = perConn;
    this.#upstream.drain(this);
  }

  get capacityKnown(): boolean {
    return this.#maxConns !== undefined;
  }

  /** Requests in flight or being connected. */
  get load(): number {
    let n = this.#reserved;
    for (const e of this.#entries) n += e.inUse;
    return n;
  }

  get healthy(): boolean {
    // Read on every pick and hand-over: the clock only for a backend that has failed.
    return this.#checkedUp && (this.#downUntil === 0 || this.#downUntil <= Date.now());
  }

  /** The active health check has not taken it out: it may get requests. */
  get checkedUp(): boolean {
    return this.#checkedUp;
  }

  /** It failed within fail_timeout or its health check, and is not a backend postern is restarting (that one is waited for). */
  get down(): boolean {
    return this.#available && !this.healthy;
  }

  #slots(): number {
    return (this.#maxConns ?? UNKNOWN_CAPACITY_CONNS) * this.#perConn;
  }

  hasRoom(): boolean {
    if (!this.#available) return false;
    this.#dropBroken();
    if (this.capacityKnown) return this.load < this.#slots();
    let unattached = this.#reserved > 0;
    for (const entry of this.#entries) {
      if (entry.inUse === 0) return true; // a kept connection is free
      if (!entry.attached) unattached = true;
    }
    if (unattached || this.#entries.length >= UNKNOWN_CAPACITY_CONNS) return false;
    return this.#entries.length < this.#learned || Date.now() >= this.#fullUntil;
  }

  /**
   * A health check's connection would wait rather than be served: every
   * worker the backend has is held by a connection of postern's, busy with a
   * request or kept idle (a kept connection pins its php-fpm child, and a
   * php-cgi process serves one connection at a time), or postern is
   * restarting it. Capacity unknown: the size learned so far counts.
   */
  get busy(): boolean {
    if (!this.hasRoom()) return true;
    const workers = this.#maxConns ?? this.#learned;
    return workers > 0 && this.#held() >= workers;
  }

  /** Connections open or being opened; broken ones still listed do not count (the next hasRoom() drops them). */
  #held(): number {
    let n = this.#opening.length;
    for (const entry of this.#entries) if (!entry.conn.broken) n++;
    return n;
  }

  /**
   * Closes the connection idle longest, if any: the worker it pinned is
   * free, so the next health check is not held behind it.
   */
  freeWorker(): void {
    let oldest: Entry<C> | undefined;
    for (const entry of this.#entries) {
      if (entry.inUse === 0 && (oldest === undefined || entry.idleSince < oldest.idleSince)) oldest = entry;
    }
    if (oldest) this.#drop(oldest);
  }

  /**
   * Marks a backend that postern runs itself as serving or not (restarting):
   * while it is not, requests wait in the queue instead of failing.
   */
  setAvailable(available: boolean): void {
    if (this.#retired) return;
    this.#available = available;
    if (!available) {
      this.#dropIdle();
    } else {
      this.#downUntil = 0;
      this.#upstream.drain(this);
    }
  }

  /** Leaving the route (Upstream.leave): takes no new request, and keeps no connection once its request is done. */
  retire(): void {
    this.#available = false;
    this.#retired = true;
    this.#dropIdle();
  }

  /** What the active health check found: a backend taken out gets no request until it passes again. */
  setCheckedUp(up: boolean): void {
    if (this.#checkedUp === up) return;
    this.#checkedUp = up;
    if (up) this.#upstream.drain(this);
    else this.#upstream.failed(this, new Error("failed its health check"));
  }

  /** Avoids the backend for fail_timeout; when every backend is down, the queued requests are refused. */
  #markFailed(err: unknown): void {
    this.#downUntil = Date.now() + this.#upstream.options.failTimeoutMs;
    this.#upstream.failed(this, err);
  }

  /** Leases a connection with a free slot, opening one when none is open. Call only when hasRoom(). */
  async lease(): Promise<Lease<C>> {
    for (;;) {
      const free = this.#freeEntry();
      if (free) {
        free.inUse++;
        return this.#leaseOf(free);
      }
      this.#reserved++;
      try {
        const opening = this.#opening[0];
        if (this.#held() < (this.#maxConns ?? UNKNOWN_CAPACITY_CONNS) || opening === undefined) {
          return this.#leaseOf(await this.#openEntry());
        }
        // Multiplexing: every connection allowed is open or opening; share one.
        await opening;
      } finally {
        this.#reserved--;
        // A failed connection leaves room that was still reserved when it was reported.
        this.#upstream.drain(this);
        this.#upstream.settled();
      }
    }
  }

  #freeEntry(): Entry<C> | undefined {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i]!;
      if (entry.conn.broken) {
        if (entry.inUse === 0) this.#drop(entry);
      } else if (entry.inUse < this.#perConn) {
        return entry;
      }
    }
    return undefined;
  }

  /** Opens a connection; its entry comes back with the opener's slot taken. */
  #openEntry(): Promise<Entry<C>> {
    const opening = this.#open(this.address).then(
      (conn) => {
        this.#downUntil = 0;
        const entry: Entry<C> = { conn, inUse: 1, idleSince: 0, attached: false, uses: 0 };
        this.#entries.push(entry);
        return entry;
      },
      (err: unknown) => {
        // Not full but gone: the next request tries to connect at once.
        this.#fullUntil = 0;
        this.#markFailed(err);
        throw err;
      },
    );
    this.#opening.push(opening);
    // The room it frees is handed on by lease(), once its reservation is given back.
    const forget = () => void this.#opening.splice(this.#opening.indexOf(opening), 1);
    opening.then(forget, forget);
    return opening;
  }

  #leaseOf(entry: Entry<C>): Lease<C> {
    let released = false;
    entry.uses++;
    return {
      conn: entry.conn,
      backend: this.address,
      reused: entry.uses > 1,
      // A lone backend is never avoided for a dropped request (nginx ignores
      // max_fails for a lone server too): its other requests may be fine,
      // and refusing them all for fail_timeout would turn one crash into many.
      fail: (err) => {
        if (this.#upstream.pools.length > 1) this.#markFailed(err);
      },
      stale: () => this.#dropIdle(),
      answered: () => this.#attach(entry),
      release: (reusable) => {
        if (released) return;
        released = true;
        this.#release(entry, reusable);
      },
    };
  }

  /** The backend serves the connection: with the others attached, a size it has at least. */
  #attach(entry: Entry<C>): void {
    if (entry.attached) return;
    entry.attached = true;
    this.#learned = Math.max(this.#learned, this.#entries.filter((e) => e.attached).length);
  }

  #release(entry: Entry<C>, reusable: boolean): void {
    entry.inUse--;
    if (reusable) this.#attach(entry);
    const keepAliveMs = this.#upstream.options.keepAliveMs;
    if (!reusable || keepAliveMs === 0 || this.#upstream.closing || this.#retired) {
      this.#drop(entry);
    } else if (entry.inUse === 0 && !this.capacityKnown && this.#entries.some((e) => !e.attached)) {
      // Capacity unknown, and a connection not yet served may sit in the
      // backlog behind the child this one pins: free that child. The backend
      // is full at what is attached; do not try more for a while.
      this.#drop(entry);
      this.#fullUntil = Date.now() + FULL_BACKOFF_MS;
    } else if (entry.inUse === 0) {
      entry.idleSince = Date.now();
      this.#scheduleSweep(keepAliveMs);
    }
    this.#upstream.drain(this);
    this.#upstream.settled();
  }

  /**
   * A closed connection holds no child of the backend (it died or restarted,
   * or the connection was cut), whether or not a request still holds its
   * lease: that request can only fail, and where the runtime ended it unseen
   * (Workers: a client that left a streamed answer) it never gives the lease
   * back. Its room is taken back now; a late release of it finds it gone.
   */
  #dropBroken(): void {
    // Runs on every pick and drain: no array is built for the usual answer, none broken.
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i]!;
      if (entry.conn.broken) this.#drop(entry);
    }
  }

  #drop(entry: Entry<C>): void {
    const i = this.#entries.indexOf(entry);
    if (i >= 0) this.#entries.splice(i, 1);
    entry.conn.close();
  }

  /** Closes idle connections as their keepAliveMs runs out; armed for the earliest one. */
  #scheduleSweep(keepAliveMs: number, delay = keepAliveMs): void {
    if (this.#sweep !== undefined) return;
    this.#sweep = setTimeout(() => {
      this.#sweep = undefined;
      const now = Date.now();
      let next = Infinity;
      for (const entry of this.#entries.slice()) {
        if (entry.inUse > 0) continue;
        const expires = entry.idleSince + keepAliveMs;
        if (expires <= now) this.#drop(entry);
        else next = Math.min(next, expires);
      }
      if (next !== Infinity) this.#scheduleSweep(keepAliveMs, next - now);
    }, delay);
  }

  #dropIdle(): void {
    for (const entry of this.#entries.filter((e) => e.inUse === 0)) this.#drop(entry);
  }

  /** Closes the idle connections; the ones in use close as their requests end. */
  close(): void {
    if (this.#sweep !== undefined) clearTimeout(this.#sweep);
    this.#sweep = undefined;
    this.#dropIdle();
  }

  /** Its connections and health now, for the metrics (read-only). */
  stats(): Omit<BackendStats, "address" | "queued"> {
    let inUse = 0;
    let idle = 0;
    for (const entry of this.#entries) {
      if (entry.inUse > 0) inUse++;
      else if (!entry.conn.broken) idle++;
    }
    return { inUse, idle, opening: this.#opening.length, healthy: this.#available && this.healthy, checkedOut: !this.#checkedUp };
  }

  /** True when no connection is in use or being opened. */
  get quiet(): boolean {
    return this.load === 0;
  }
}
