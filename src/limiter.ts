// A cap on work running at once with a bounded, timed queue in front of it:
// past the queue, or after waiting too long, the answer is 503 with
// Retry-After, so a flood of requests cannot pile up without end.

import { GatewayError } from "./errors.ts";

export interface LimiterOptions {
  maxActive: number;
  maxQueue: number;
  queueTimeoutMs: number;
  /** What is limited, for messages ("scripts"). */
  what: string;
}

interface Waiter {
  resolve(release: () => void): void;
  reject(err: GatewayError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class ConcurrencyLimiter {
  readonly #options: LimiterOptions;
  readonly #waiters: Waiter[] = [];
  #active = 0;
  #idle: (() => void)[] = [];

  constructor(options: LimiterOptions) {
    this.#options = options;
  }

  get active(): number {
    return this.#active;
  }

  /**
   * A slot: resolves with its release function. `onCancel` receives a function
   * that withdraws a waiting request (its client went away).
   */
  acquire(onCancel?: (cancel: () => void) => void): Promise<() => void> {
    const o = this.#options;
    if (this.#active < o.maxActive) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiters.length >= o.maxQueue) {
      return Promise.reject(new GatewayError("BACKEND_OVERLOADED", `queue full (${o.maxQueue} waiting)`, { retryAfter: 1 }));
    }
    return new Promise((resolve, reject) => {
      const leave = (err: GatewayError) => {
        const i = this.#waiters.indexOf(waiter);
        if (i < 0) return;
        this.#waiters.splice(i, 1);
        clearTimeout(waiter.timer);
        reject(err);
      };
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(
          () => leave(new GatewayError("BACKEND_OVERLOADED", `waited over ${o.queueTimeoutMs} ms for one of ${o.maxActive} ${o.what}`, { retryAfter: 1 })),
          o.queueTimeoutMs,
        ),
      };
      this.#waiters.push(waiter);
      onCancel?.(() => leave(new GatewayError("CLIENT_CLOSED", "client left while its request was queued")));
    });
  }

  /** Resolves once nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.#active === 0 && this.#waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) {
        clearTimeout(next.timer);
        next.resolve(this.#releaser());
        return;
      }
      this.#active--;
      if (this.#active === 0) {
        for (const resolve of this.#idle.splice(0)) resolve();
      }
    };
  }
}
