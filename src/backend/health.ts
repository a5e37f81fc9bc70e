// Active health checks: each backend of a route is asked a path in its own
// protocol every `interval` (Caddy's active health checks; nginx Plus's
// health_check). After `fails` failures in a row a backend is taken out and
// gets no request; after `passes` passes in a row it is back. A backend
// starts as up, so a route serves at once. The protocol lives in the probe a
// gateway supplies (gateways/fastcgi/health.ts); the schedule lives here.
//
// Where nothing runs between requests (Cloudflare Workers: I/O belongs to a
// request, and no timer outlives one), checks are "lazy": a request that
// arrives when a check is due runs it and waits for it (at most `timeout`).

import { formatAddress, type Address } from "../address.ts";
import type { HealthOptions } from "./options.ts";

/**
 * Asks `path` of the backend at `address` in its protocol; resolves with the
 * answer's status, rejects when there is none. `timeoutMs` bounds its
 * connect. `stop` aborts when the check's timeout has passed or the route
 * closes: the probe lets go of its connection then.
 */
export type Probe = (address: Address, path: string, timeoutMs: number, stop: AbortSignal) => Promise<number>;

/** A backend as the checker sees it (src/pool.ts BackendPool). */
export interface HealthTarget {
  readonly address: Address;
  /** A check's connection would wait behind postern's own connections (see #record). */
  readonly busy: boolean;
  /** Closes one of postern's idle connections to it, if any, freeing the worker it pins. */
  freeWorker(): void;
  setCheckedUp(up: boolean): void;
}

interface State {
  readonly target: HealthTarget;
  up: boolean;
  /** Results in a row that disagree with `up`. */
  streak: number;
  /** Lazy mode: when the next check is due. */
  dueAt: number;
  /** When the running check began, and how many have begun. */
  startedAt: number;
  runs: number;
  /** The last check that finished: when (ms since the epoch), and the status answered (none: no answer). */
  last: { at: number; status?: number } | undefined;
  /** Set while a check runs; its timeout and close() abort it. */
  stop: AbortController | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class HealthChecker {
  readonly #states: State[];
  readonly #probe: Probe;
  readonly #options: HealthOptions;
  /** Checks run within requests, through due(). */
  readonly lazy: boolean;
  readonly #log: (line: string) => void;
  #closed = false;

  /** Starts checking (at once, unless `lazy`: then on the first request). */
  constructor(targets: readonly HealthTarget[], probe: Probe, options: HealthOptions, how: { lazy: boolean; log(line: string): void }) {
    this.#probe = probe;
    this.#options = options;
    this.lazy = how.lazy;
    this.#log = how.log;
    this.#states = [];
    for (const target of targets) this.add(target);
  }

  /** Checks a backend that joined the route (a worker postern started), from now on. */
  add(target: HealthTarget): void {
    const state: State = { target, up: true, streak: 0, dueAt: 0, startedAt: 0, runs: 0, last: undefined, stop: undefined, timer: undefined };
    this.#states.push(state);
    if (!this.lazy && !this.#closed) void this.#check(state);
  }

  /** Stops checking a backend that left the route. */
  remove(target: HealthTarget): void {
    const i = this.#states.findIndex((s) => s.target === target);
    if (i < 0) return;
    const [state] = this.#states.splice(i, 1);
    state!.stop?.abort();
    clearTimeout(state!.timer);
  }

  /**
   * Lazy mode: runs the checks that are due and resolves once they are done.
   * A check another request runs is not waited for: on Workers its promise
   * belongs to that request, and never settles if that request goes away
   * first (its timer goes with it); such a check, older than its timeout,
   * is begun again.
   */
  due(): Promise<void> {
    if (!this.lazy || this.#closed) return Promise.resolve();
    const now = Date.now();
    const mine: Promise<void>[] = [];
    for (const state of this.#states) {
      const abandoned = now - state.startedAt > this.#options.timeout;
      if ((state.stop === undefined || abandoned) && state.dueAt <= now) mine.push(this.#check(state));
    }
    return mine.length === 0 ? Promise.resolve() : Promise.all(mine).then(() => undefined);
  }

  /** The last finished check of `target` (read-only, for the status page); undefined before the first. */
  lastCheck(target: HealthTarget): { at: number; status?: number } | undefined {
    return this.#states.find((s) => s.target === target)?.last;
  }

  /** Stops every check: no timer is left, a check still running lets go of its connection and changes nothing. */
  close(): void {
    this.#closed = true;
    for (const state of this.#states) {
      state.stop?.abort();
      clearTimeout(state.timer);
    }
  }

  #check(state: State): Promise<void> {
    const started = Date.now();
    state.startedAt = started;
    const run = ++state.runs;
    const busyAtStart = state.target.busy;
    // A signal of the check's own: on Workers a signal belongs to the request
    // that made it (using it in another one throws), and lazy checks run in
    // later requests than the one that set the route up.
    const stop = new AbortController();
    state.stop = stop;
    return this.#ask(state.target.address, stop).then((status) => {
      // A check begun again in its place (see due()) has the last word.
      if (run !== state.runs) return;
      state.stop = undefined;
      if (this.#closed || !this.#states.includes(state)) return;
      state.last = status === undefined ? { at: Date.now() } : { at: Date.now(), status };
      this.#record(state, status, busyAtStart || state.target.busy);
      const wait = Math.max(0, this.#options.interval - (Date.now() - started));
      if (this.lazy) state.dueAt = Date.now() + wait;
      else state.timer = setTimeout(() => void this.#check(state), wait);
    });
  }

  /**
   * One check, bounded by `timeout` whatever the probe does: the status
   * answered, undefined for none. At the timeout the probe is stopped too.
   */
  async #ask(address: Address, stop: AbortController): Promise<number | undefined> {
    const o = this.#options;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        stop.abort();
        resolve(undefined);
      }, o.timeout);
    });
    try {
      return await Promise.race([this.#probe(address, o.path, o.timeout, stop.signal), expired]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  #record(state: State, status: number | undefined, busy: boolean): void {
    // A backend whose every worker is held by postern's own connections
    // answers a check only when one is free (php-fpm's ping needs a child
    // too): a check left unanswered then says it is busy, not that it is
    // gone. A backend that hangs is found by the requests' timeouts instead;
    // one that dies closes postern's connections, so its checks count again.
    // A wrong status is an answer, and always counts. Where an idle kept
    // connection holds the worker, it is closed: the next check reaches a
    // worker and counts, so a backend that hangs while no request runs on
    // it is still taken out.
    if (status === undefined && state.up && busy) {
      state.streak = 0;
      state.target.freeWorker();
      return;
    }
    const passed = status === this.#options.status;
    if (passed === state.up) {
      state.streak = 0;
      return;
    }
    state.streak++;
    if (state.streak < (state.up ? this.#options.fails : this.#options.passes)) return;
    state.up = passed;
    state.streak = 0;
    this.#log(`${formatAddress(state.target.address)}: ${passed ? "passed" : "failed"} its health check ${this.#options.path}; ${passed ? "back in service" : "taken out"}`);
    state.target.setCheckedUp(passed);
  }
}
