// A cap on work running at once (scripts, module runs), with the bounded,
// timed waiter queue in front of it.

import { WaiterQueue, type OnCancel } from "./waiter-queue.ts";

export interface LimiterOptions {
  maxActive: number;
  maxQueue: number;
  queueTimeoutMs: number;
  /** What is limited, for messages ("scripts"). */
  what: string;
}

export class ConcurrencyLimiter {
  readonly #options: LimiterOptions;
  readonly #queue: WaiterQueue<() => void>;
  #active = 0;
  #idle: (() => void)[] = [];

  constructor(options: LimiterOptions) {
    this.#options = options;
    this.#queue = new WaiterQueue({
      maxQueue: options.maxQueue,
      timeoutMs: options.queueTimeoutMs,
      what: `one of ${options.maxActive} ${options.what}`,
    });
  }

  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * A slot: resolves with its release function. `onCancel` receives a function
   * that withdraws a waiting request (its client went away).
   */
  acquire(onCancel?: OnCancel): Promise<() => void> {
    if (this.#active < this.#options.maxActive) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    return this.#queue.wait(onCancel);
  }

  /** Resolves once nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.#active === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) {
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
