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
  timer: ReturnType<typeof setTimeout>;
}

export class WaiterQueue<T> {
  readonly #options: WaiterQueueOptions;
  readonly #waiters: Queued<T>[] = [];

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
      const leave = (err: GatewayError) => {
        const i = this.#waiters.indexOf(waiter);
        if (i < 0) return;
        this.#waiters.splice(i, 1);
        clearTimeout(waiter.timer);
        reject(err);
        o.onLeave?.();
      };
      const waiter: Queued<T> = {
        resolve,
        reject,
        onCancel,
        timer: setTimeout(
          () => leave(new GatewayError("BACKEND_OVERLOADED", `waited over ${o.timeoutMs} ms for ${o.what}`, { retryAfter: 1 })),
          o.timeoutMs,
        ),
      };
      this.#waiters.push(waiter);
      onCancel?.(() => leave(new GatewayError("CLIENT_CLOSED", "client left while its request was queued")));
    });
  }

  /** The oldest waiter, taken off the queue; undefined when none waits. */
  shift(): Waiter<T> | undefined {
    const waiter = this.#waiters.shift();
    if (waiter) clearTimeout(waiter.timer);
    return waiter;
  }
}
