// The one cap on the bytes postern holds in memory for request bodies and
// for answers read ahead of slow clients, across every route of an app
// (top-level `max_buffered_total`): past it a buffer goes to a temporary
// file, or the request is refused with 503 where there is none.

export class BufferBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Takes `bytes` from the budget if they fit; false when they do not (nothing is taken then). */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  /** Gives back bytes taken before. */
  give(bytes: number): void {
    this.#used -= bytes;
  }

  /** Bytes taken now. */
  get used(): number {
    return this.#used;
  }
}
