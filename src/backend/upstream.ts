// The backends of one route: which one a request goes to (the balancing
// order of src/backend/balance.ts, healthy ones with room first), failover
// when a connection cannot be made, and one bounded queue for the requests
// that find no room (src/waiter-queue.ts). Each backend's connections are a
// BackendPool (src/pool.ts).
//
// When every backend is down, requests fail at once instead of waiting in the
// queue for a connection that cannot come (nginx answers 502 at once too):
// the queued ones are refused, new ones that find no room are refused, and
// new ones that find room try to connect, so the first connection to a
// backend that is back ends the outage. What was learned of a backend's size
// does not hold a request back from that try.
//
// A gateway plugs in its protocol's health probe here (src/backend/health.ts
// runs the checks, and they stop when the route closes) and sends each
// request through src/backend/retry.ts; nothing else of either is its own.

import { formatAddress, type Address } from "../address.ts";
import { GatewayError } from "../errors.ts";
import { BackendPool, type Closable, type Lease, type PoolOptions } from "../pool.ts";
import { WaiterQueue, type OnCancel } from "../waiter-queue.ts";
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

/** While requests wait, how often room is looked for that came without a release (a leased connection found closed). */
const RECHECK_MS = 1_000;

/** The backends of one route: balancing, failover on connect, and the shared queue. */
export class Upstream<C extends Closable> {
  readonly options: PoolOptions;
  readonly pools: BackendPool<C>[];
  readonly #queue: WaiterQueue<Lease<C>>;
  readonly #balancer: Balancer;
  readonly #health: HealthChecker | undefined;

  constructor(addresses: Address[], open: (addr: Address) => Promise<C>, options: PoolOptions, health?: HealthSetup) {
    this.options = options;
    this.#queue = new WaiterQueue({
      maxQueue: options.maxQueue,
      timeoutMs: options.queueTimeoutMs,
      what: "a backend connection",
      onLeave: () => this.settled(),
    });
    this.pools = addresses.map((a) => new BackendPool(this, a, open, options));
    this.#balancer = balancer(options.balance ?? "least_conn", addresses.map(formatAddress));
    this.#health = health && new HealthChecker(this.pools, health.probe, health.options, health);
  }

  /**
   * A connection to the first healthy backend with room in the balancing
   * order for `key` (the request's hash key), or a place in the queue.
   * `onCancel` receives a function that withdraws a queued request (its
   * client went away): it never reaches a backend. Lazy health checks that
   * are due run first.
   */
  acquire(onCancel?: OnCancel, key?: string): Promise<Lease<C>> {
    if (this.#health === undefined) return this.#acquire(onCancel, key);
    return this.#health.due().then(() => this.#acquire(onCancel, key));
  }

  #acquire(onCancel?: OnCancel, key?: string): Promise<Lease<C>> {
    if (this.closing) return Promise.reject(new GatewayError("BACKEND_OVERLOADED", "route closed", { retryAfter: 1 }));
    const pool = this.#pick(undefined, key);
    if (pool) return this.#leaseWithFailover(pool, { onCancel, key });
    if (this.#allDown()) return Promise.reject(this.#lastFailure);
    return this.#wait(onCancel);
  }

  /**
   * A connection for a request sent again, to a backend not in `tried` that
   * can take it at once (a retry never queues); undefined when there is none.
   */
  retry(tried: ReadonlySet<Address>, key?: string): Promise<Lease<C>> | undefined {
    if (this.closing) return undefined;
    const exclude = new Set(this.pools.filter((p) => tried.has(p.address)));
    const pool = this.#pick(exclude, key);
    return pool && this.#leaseWithFailover(pool, { key, exclude, queue: false });
  }

  #recheck: ReturnType<typeof setTimeout> | undefined;

  /** A place in the queue; while any request waits, room is looked for every RECHECK_MS (see BackendPool #dropBroken in src/pool.ts). */
  #wait(onCancel?: OnCancel): Promise<Lease<C>> {
    const waiting = this.#queue.wait(onCancel);
    this.#scheduleRecheck();
    return waiting;
  }

  #scheduleRecheck(): void {
    if (this.#recheck !== undefined || this.#queue.length === 0) return;
    this.#recheck = setTimeout(() => {
      this.#recheck = undefined;
      for (const pool of this.pools) this.drain(pool);
      this.#scheduleRecheck();
    }, RECHECK_MS);
  }

  /** What the last failed connection said, for the requests refused while every backend is down. */
  #lastFailure: GatewayError | undefined;

  #allDown(): boolean {
    return this.pools.every((p) => p.down);
  }

  /** A connection to `pool` failed: when every backend is down, the queued requests are refused. */
  failed(pool: BackendPool<C>, err: unknown): void {
    const detail = err instanceof Error ? err.message : String(err);
    this.#lastFailure = new GatewayError("BACKEND_UNREACHABLE", `every backend is down; ${formatAddress(pool.address)}: ${detail}`, { cause: err });
    if (!this.#allDown()) return;
    for (let waiter = this.#queue.shift(); waiter; waiter = this.#queue.shift()) waiter.reject(this.#lastFailure);
    this.settled();
  }

  /**
   * The first backend with room in the balancing order. One that failed
   * within fail_timeout is used only when every backend has failed: while a
   * healthy one exists, requests wait for it instead. One its health check
   * took out is never used.
   */
  #pick(exclude?: ReadonlySet<BackendPool<C>>, key?: string): BackendPool<C> | undefined {
    const usable = (p: BackendPool<C>) => !exclude?.has(p) && p.checkedUp;
    const anyHealthy = this.pools.some((p) => usable(p) && p.healthy);
    for (const i of this.#balancer.order(this.pools.map((p) => p.load), key)) {
      const pool = this.pools[i]!;
      if (usable(pool) && (pool.healthy || !anyHealthy) && pool.hasRoom()) {
        this.#balancer.chose(i);
        return pool;
      }
    }
    return undefined;
  }

  async #leaseWithFailover(
    first: BackendPool<C>,
    how: { onCancel?: OnCancel; key?: string; exclude?: ReadonlySet<BackendPool<C>>; queue?: boolean },
  ): Promise<Lease<C>> {
    const tried = new Set<BackendPool<C>>(how.exclude);
    let pool: BackendPool<C> | undefined = first;
    let lastError: unknown;
    while (pool) {
      tried.add(pool);
      try {
        return await pool.lease();
      } catch (err) {
        lastError = err;
      }
      pool = this.#pick(tried, how.key);
    }
    // A backend not tried is only full, or is being restarted by postern
    // (whatever it refused before it was seen to exit): wait for it.
    if (how.queue !== false && this.pools.some((p) => !tried.has(p) && !p.down)) return this.#wait(how.onCancel);
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
    while (this.#queue.length > 0 && pool.healthy && pool.hasRoom()) {
      const waiter = this.#queue.shift()!;
      this.#leaseWithFailover(pool, { onCancel: waiter.onCancel }).then(waiter.resolve, waiter.reject);
    }
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
    return this.#queue.length === 0 && this.pools.every((p) => p.quiet);
  }

  /** Called as requests end: finishes a pending close. */
  settled(): void {
    if (this.#closed && this.#quiet()) {
      const closed = this.#closed;
      this.#closed = undefined;
      closed();
    }
  }
}
