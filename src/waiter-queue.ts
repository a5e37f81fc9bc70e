// A bounded, timed queue of requests waiting for something scarce (a script
// slot, a backend connection). Past `maxQueue` waiting, or after `timeoutMs`
// in the queue, a request is refused with 503 and Retry-After (RFC 9110
// §15.6.4, §10.2.3), so a flood of requests cannot pile up without end; a
// request whose client went away leaves the queue and never reaches a backend.
// The owner hands freed resources to the oldest waiter with `shift()`.

import { GatewayError } from "./errors.ts";

export interface WaiterQueueOptions {
  maxQueue: number;
  timeoutMs: number;
  /** What the requests wait for, for messages ("one of 4 script slots"). */
  what: string;
  /** Called after a waiter left the queue on its own (timed out or withdrawn). */
  onLeave?(): void;
  /** The requests `maxQueue` bounds, where several queues share it; by default this queue's. */
  waiting?(): number;
}

/** Receives a function that withdraws the request from the queue (its client went away). */
export type OnCancel = (cancel: () => void) => void;

/** A request taken off the queue: its owner settles it. */
export interface Waiter<T> {
  resolve(value: T | Promise<T>): void;
  reject(err: unknown): void;
  /** The request's own hook, for an owner that has to queue it again. */
  onCancel: OnCancel | undefined;
}

interface Queued<T> extends Waiter<T> {
  /** Date.now() past which the request is refused. */
  deadline: number;
}

export class WaiterQueue<T> {
  readonly #options: WaiterQueueOptions;
  readonly #waiters: Queued<T>[] = [];
  // Every waiter waits the same timeoutMs and leaves in order, so the oldest
  // one's deadline is the next to pass: one timer, for it, serves the queue
  // (a timer per request would be set and cleared on every request of a busy
  // route).
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: WaiterQueueOptions) {
    this.#options = options;
  }

  get length(): number {
    return this.#waiters.length;
  }

  /** A place in the queue: settles when the owner hands it something, or with 503 / 499. */
  wait(onCancel?: OnCancel): Promise<T> {
    const o = this.#options;
    if ((o.waiting?.() ?? this.#waiters.length) >= o.maxQueue) {
      return Promise.reject(new GatewayError("BACKEND_OVERLOADED", `queue full (${o.maxQueue} waiting)`, { retryAfter: 1 }));
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Queued<T> = { resolve, reject, onCancel, deadline: Date.now() + o.timeoutMs };
      this.#waiters.push(waiter);
      this.#timer ??= setTimeout(this.#expire, o.timeoutMs);
      onCancel?.(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i < 0) return;
        this.#waiters.splice(i, 1);
        this.#settleTimer();
        reject(new GatewayError("CLIENT_CLOSED", "client left while its request was queued"));
        o.onLeave?.();
      });
    });
  }

  /** The oldest waiter, taken off the queue; undefined when none waits. */
  shift(): Waiter<T> | undefined {
    const waiter = this.#waiters.shift();
    if (waiter) this.#settleTimer();
    return waiter;
  }

  /** No timer is left running for an empty queue (it would hold the process open). */
  #settleTimer(): void {
    if (this.#waiters.length > 0 || this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Refuses the waiters whose deadline has passed, then waits for the next one's. */
  readonly #expire = (): void => {
    this.#timer = undefined;
    const o = this.#options;
    const now = Date.now();
    while (this.#waiters.length > 0 && this.#waiters[0]!.deadline <= now) {
      this.#waiters.shift()!.reject(new GatewayError("BACKEND_OVERLOADED", `waited over ${o.timeoutMs} ms for ${o.what}`, { retryAfter: 1 }));
      o.onLeave?.();
    }
    // onLeave may have queued a request, and armed the timer for its later deadline.
    clearTimeout(this.#timer);
    const next = this.#waiters[0];
    this.#timer = next === undefined ? undefined : setTimeout(this.#expire, Math.max(1, next.deadline - now));
  };
}
