// The backends of one route: which one a request goes to (the balancing
// order of src/backend/balance.ts, healthy ones with room first), failover
// when a connection cannot be made, and the bounded queues for the requests
// that find no room (src/waiter-queue.ts): one for any backend, and one per
// backend for the sticky requests that wait for theirs. Each backend's
// connections are a BackendPool (src/pool.ts).
//
// When every backend is down, requests fail at once instead of waiting in the
// queue for a connection that cannot come (nginx answers 502 at once too):
// the queued ones are refused, new ones that find no room are refused, and
// new ones that find room try to connect, so the first connection to a
// backend that is back ends the outage. What was learned of a backend's size
// does not hold a request back from that try.
//
// A request with a hash key sticks to its backend (the first healthy one of
// its order): when that backend has no room only because its size is not
// known yet (php-fpm does not announce it, and a connection still waiting
// for its first answer makes the pool hold back), the request waits for that
// backend in a queue of its own, rather than move and lose its session. It
// moves only when the backend fails, is taken out, or is full at a known
// capacity (max_conns, or the backend's FCGI_MAX_CONNS), as nginx's `hash`
// moves a client only off a server that is down or at its max_conns.
//
// Backends may join and leave at run time (the workers postern starts and
// replaces, src/supervisor/): one that leaves gets no new request, its sticky
// waiters move on, and it is let go once its requests in flight are done, so
// that replacing a worker fails no request.
//
// A gateway plugs in its protocol's health probe here (src/backend/health.ts
// runs the checks, and they stop when the route closes) and sends each
// request through src/backend/retry.ts; nothing else of either is its own.

import { formatAddress, type Address } from "../address.ts";
import { GatewayError } from "../errors.ts";
import { BackendPool, type Closable, type Lease, type PoolOptions } from "../pool.ts";
import type { BackendStats } from "../metrics/stats.ts";
import { WaiterQueue, type OnCancel, type Waiter } from "../waiter-queue.ts";
import { balancer, type Balancer } from "./balance.ts";
import { HealthChecker, type Probe } from "./health.ts";
import type { HealthOptions } from "./options.ts";

/** Active health checks of a route's backends: the gateway's probe and the route's `health` keys. */
export interface HealthSetup {
  probe: Probe;
  options: HealthOptions;
  /** Nothing runs between requests (Workers): a request runs the checks that are due. */
  lazy: boolean;
  log(line: string): void;
}

/** A sticky request's turn: its backend's lease, begun when room came (boxed, so that its failure is the request's to handle). */
interface Granted<C extends Closable> {
  leasing: Promise<Lease<C>>;
}

/** While requests wait, how often room is looked for that came without a release (a leased connection found closed). */
const RECHECK_MS = 1_000;

/** The backends of one route: balancing, failover on connect, and the shared queue. */
export class Upstream<C extends Closable> {
  readonly options: PoolOptions;
  /** The backends, in the order they joined. */
  readonly pools: BackendPool<C>[] = [];
  /** Their names (formatAddress), as the balancer reads them. */
  readonly #names: string[] = [];
  readonly #open: (addr: Address) => Promise<C>;
  readonly #queue: WaiterQueue<Lease<C>>;
  /** Per backend, the sticky requests waiting for it; a granted one gets its lease already under way (see drain). */
  readonly #pinned = new Map<BackendPool<C>, WaiterQueue<Granted<C>>>();
  readonly #balancer: Balancer;
  readonly #health: HealthChecker | undefined;
  /** Backends leaving, each with what resolves its leave() once it is quiet. */
  readonly #leaving = new Map<BackendPool<C>, () => void>();

  constructor(addresses: Address[], open: (addr: Address) => Promise<C>, options: PoolOptions, health?: HealthSetup) {
    this.options = options;
    this.#open = open;
    this.#queue = this.#newQueue<Lease<C>>("a backend connection");
    this.#balancer = balancer(options.balance ?? "least_conn", this.#names);
    this.#health = health && new HealthChecker([], health.probe, health.options, health);
    for (const address of addresses) this.join(address);
  }

  #newQueue<T>(what: string): WaiterQueue<T> {
    return new WaiterQueue<T>({
      maxQueue: this.options.maxQueue,
      timeoutMs: this.options.queueTimeoutMs,
      what,
      onLeave: () => this.settled(),
      waiting: () => this.#waiting(),
    });
  }

  /** A backend joins the route: it is given requests from now on (once available, see BackendPool.setAvailable). */
  join(address: Address): BackendPool<C> {
    const pool = new BackendPool(this, address, this.#open, this.options);
    this.pools.push(pool);
    this.#names.push(formatAddress(address));
    this.#pinned.set(pool, this.#newQueue<Granted<C>>(`a connection to ${formatAddress(address)}`));
    this.#health?.add(pool);
    return pool;
  }

  /**
   * A backend leaves the route: no new request goes to it, the sticky
   * requests waiting for it move on to the next backend of their order, and
   * the promise resolves once its requests in flight are done; it is gone
   * from the route then.
   */
  leave(pool: BackendPool<C>): Promise<void> {
    const pinned = this.#pinned.get(pool);
    if (pinned === undefined || this.#leaving.has(pool)) return Promise.resolve();
    pool.retire();
    this.#health?.remove(pool);
    const gone = new GatewayError("BACKEND_UNREACHABLE", `${formatAddress(pool.address)} left the route`);
    for (let waiter = pinned.shift(); waiter; waiter = pinned.shift()) grant(waiter, Promise.reject(gone));
    const left = new Promise<void>((resolve) => this.#leaving.set(pool, resolve));
    this.settled();
    return left;
  }

  /** Lets go of the backends that left and are quiet. */
  #letGo(): void {
    for (const [pool, resolve] of this.#leaving) {
      if (!pool.quiet) continue;
      this.#leaving.delete(pool);
      const i = this.pools.indexOf(pool);
      this.pools.splice(i, 1);
      this.#names.splice(i, 1);
      this.#pinned.delete(pool);
      resolve();
    }
  }

  /**
   * A connection to the first healthy backend with room in the balancing
   * order for `key` (the request's hash key), or a place in the queue.
   * `onCancel` receives a function that withdraws a queued request (its
   * client went away): it never reaches a backend. Lazy health checks that
   * are due run first.
   */
  acquire(onCancel?: OnCancel, key?: string): Promise<Lease<C>> {
    // Checks that run on their own timers cost a request nothing.
    if (this.#health === undefined || !this.#health.lazy) return this.#acquire(onCancel, key);
    return this.#health.due().then(() => this.#acquire(onCancel, key));
  }

  #acquire(onCancel?: OnCancel, key?: string): Promise<Lease<C>> {
    if (this.closing) return Promise.reject(new GatewayError("BACKEND_OVERLOADED", "route closed", { retryAfter: 1 }));
    const picked = this.#pick(undefined, key);
    if (picked?.room) return this.#leaseWithFailover(picked.pool, { onCancel, key });
    if (this.#allDown()) return Promise.reject(this.#lastFailure);
    return this.#wait({ onCancel, key }, picked?.pool);
  }

  /**
   * A connection for a request sent again, to a backend not in `tried`: the
   * first of its order with room, or else the first healthy one, waited for
   * in that backend's queue (never in the shared one, which could hand it a
   * backend it was sent to). Undefined when no such backend is left.
   */
  retry(tried: ReadonlySet<Address>, key?: string, onCancel?: OnCancel): Promise<Lease<C>> | undefined {
    if (this.closing) return undefined;
    const exclude = new Set(this.pools.filter((p) => tried.has(p.address)));
    const picked = this.#pick(exclude, key, true);
    if (picked === undefined) return undefined;
    const how = { onCancel, key, exclude };
    return picked.room ? this.#leaseWithFailover(picked.pool, how) : this.#wait(how, picked.pool);
  }

  #recheck: ReturnType<typeof setTimeout> | undefined;

  /**
   * A place in the queue, or in the queue of `home` for a sticky request.
   * max_queue bounds all of them together (each queue counts #waiting()).
   * While any request waits, room is looked for every RECHECK_MS (see
   * BackendPool #dropBroken in src/pool.ts).
   */
  #wait(how: { onCancel?: OnCancel; key?: string }, home?: BackendPool<C>): Promise<Lease<C>> {
    const waiting =
      home === undefined
        ? this.#queue.wait(how.onCancel)
        : this.#pinned
            .get(home)!
            .wait(how.onCancel)
            .then((granted) => this.#leaseWithFailover(home, how, granted.leasing));
    this.#scheduleRecheck();
    return waiting;
  }

  #waiting(): number {
    let n = this.#queue.length;
    for (const queue of this.#pinned.values()) n += queue.length;
    return n;
  }

  #scheduleRecheck(): void {
    if (this.#recheck !== undefined || this.#waiting() === 0) return;
    this.#recheck = setTimeout(() => {
      this.#recheck = undefined;
      for (const pool of this.pools) this.drain(pool);
      this.#scheduleRecheck();
    }, RECHECK_MS);
  }

  /** What the last failed connection said, for the requests refused while every backend is down. */
  #lastFailure: GatewayError | undefined;

  #allDown(): boolean {
    return this.pools.length > 0 && this.pools.every((p) => p.down);
  }

  /**
   * A connection to `pool` failed, or its health check took it out: the
   * sticky requests waiting for it move on (each to the next backend of its
   * order), and when every backend is down, the queued requests are refused.
   */
  failed(pool: BackendPool<C>, err: unknown): void {
    const detail = err instanceof Error ? err.message : String(err);
    this.#lastFailure = new GatewayError("BACKEND_UNREACHABLE", `every backend is down; ${formatAddress(pool.address)}: ${detail}`, { cause: err });
    if (this.#allDown()) {
      for (const queue of [this.#queue, ...this.#pinned.values()]) {
        for (let waiter = queue.shift(); waiter; waiter = queue.shift()) waiter.reject(this.#lastFailure);
      }
      this.settled();
    } else if (!pool.healthy) {
      const queue = this.#pinned.get(pool);
      for (let waiter = queue?.shift(); waiter; waiter = queue!.shift()) grant(waiter, Promise.reject(err));
    }
  }

  /**
   * The first backend with room in the balancing order. One that failed
   * within fail_timeout is used only when every backend has failed: while a
   * healthy one exists, requests wait for it instead. One its health check
   * took out is never used. A sticky request (`key`) whose healthy backend
   * of unknown size has no room, or a request sent again (`resend`) that
   * finds none with room, gets the first healthy backend without room: it
   * waits for that one.
   */
  #pick(exclude?: ReadonlySet<BackendPool<C>>, key?: string, resend = false): { pool: BackendPool<C>; room: boolean } | undefined {
    const usable = (p: BackendPool<C>) => !exclude?.has(p) && p.checkedUp;
    const anyHealthy = this.pools.some((p) => usable(p) && p.healthy);
    let waitFor: BackendPool<C> | undefined;
    for (const i of this.#balancer.order(this.pools.map((p) => p.load), key)) {
      const pool = this.pools[i]!;
      if (!usable(pool) || !(pool.healthy || !anyHealthy)) continue;
      if (pool.hasRoom()) {
        this.#balancer.chose(i);
        return { pool, room: true };
      }
      if (pool.healthy && key !== undefined && !pool.capacityKnown) return { pool, room: false };
      waitFor ??= pool.healthy ? pool : undefined;
    }
    return resend && waitFor ? { pool: waitFor, room: false } : undefined;
  }

  /**
   * A lease on `first` (begun already when `leasing` is given), else on the
   * next backend that has room, else a wait. `exclude`: the backends a
   * request sent again went to, never given it again.
   */
  async #leaseWithFailover(
    first: BackendPool<C>,
    how: { onCancel?: OnCancel; key?: string; exclude?: ReadonlySet<BackendPool<C>> },
    leasing?: Promise<Lease<C>>,
  ): Promise<Lease<C>> {
    const tried = new Set<BackendPool<C>>(how.exclude);
    let pool: BackendPool<C> | undefined = first;
    let lastError: unknown;
    while (pool) {
      tried.add(pool);
      try {
        return await (leasing ?? pool.lease());
      } catch (err) {
        lastError = err;
      }
      leasing = undefined;
      const picked = this.#pick(tried, how.key, how.exclude !== undefined);
      if (picked && !picked.room) return this.#wait(how, picked.pool);
      pool = picked?.pool;
    }
    // A backend not tried is only full, or is being restarted by postern
    // (whatever it refused before it was seen to exit): wait for it (a
    // request sent again has found none, above).
    if (this.pools.some((p) => !tried.has(p) && !p.down)) return this.#wait(how);
    throw lastError;
  }

  /**
   * Hands freed room in `pool` to the oldest waiter. Not while the backend
   * is avoided: its failed connect would drain it again, cycling the queue
   * through connects to a dead backend (and restarting each waiter's
   * queue_timeout) while another backend is only full. When every backend
   * is down there is nobody to hand to: failed() refused the queue.
   */
  drain(pool: BackendPool<C>): void {
    // Its sticky requests first: they can go nowhere else. Each one's lease
    // is begun here, so that the room is taken before it is looked at again.
    // A backend that has left has nobody waiting for it.
    const pinned = this.#pinned.get(pool);
    if (pinned === undefined) return;
    while (pinned.length > 0 && pool.healthy && pool.hasRoom()) grant(pinned.shift()!, pool.lease());
    while (this.#queue.length > 0 && pool.healthy && pool.hasRoom()) {
      const waiter = this.#queue.shift()!;
      this.#leaseWithFailover(pool, { onCancel: waiter.onCancel }).then(waiter.resolve, waiter.reject);
    }
  }

  /** Each backend's connections, health and sticky queue, and the requests waiting for any backend, for the metrics (read-only). */
  stats(): { backends: BackendStats[]; queued: number } {
    const backends = this.pools.map((pool, i) => {
      const lastCheck = this.#health?.lastCheck(pool);
      return { address: this.#names[i]!, ...pool.stats(), queued: this.#pinned.get(pool)?.length ?? 0, ...(lastCheck ? { lastCheck } : {}) };
    });
    return { backends, queued: this.#queue.length };
  }

  /** Set by close(): no new request is taken, connections go as they are released. */
  closing = false;
  #closed: (() => void) | undefined;

  /**
   * Stops taking requests and checking health, and resolves once the
   * requests already taken (queued ones included) have finished: a reload
   * or shutdown drops no request.
   */
  close(): Promise<void> {
    this.closing = true;
    this.#health?.close();
    for (const pool of this.pools) pool.close();
    if (this.#quiet()) return Promise.resolve();
    return new Promise((resolve) => (this.#closed = resolve));
  }

  #quiet(): boolean {
    return this.#waiting() === 0 && this.pools.every((p) => p.quiet);
  }

  /** Called as requests end: lets go of quiet backends that left, finishes a pending close. */
  settled(): void {
    if (this.#leaving.size > 0) this.#letGo();
    if (this.#closed && this.#quiet()) {
      const closed = this.#closed;
      this.#closed = undefined;
      closed();
    }
  }
}

/** Hands a sticky waiter its lease; a failed one is handled by the waiter (it moves on, see #leaseWithFailover). */
function grant<C extends Closable>(waiter: Waiter<Granted<C>>, leasing: Promise<Lease<C>>): void {
  leasing.catch(() => undefined);
  waiter.resolve({ leasing });
}
