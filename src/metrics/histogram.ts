// A Prometheus histogram (https://prometheus.io/docs/concepts/metric_types/#histogram):
// counts of observations at or below each upper bound, their sum and their
// number. Bounds are fixed when it is made; the exposition (exposition.ts)
// writes the counts cumulatively, "+Inf" last.

/**
 * Bounds in seconds for request and upstream times: the client libraries'
 * default set (5 ms to 10 s), which covers a static file as well as a slow
 * PHP page; a longer request counts in +Inf only.
 */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram {
  readonly bounds: readonly number[];
  /** Observations in each bucket alone (not cumulative); the last is past every bound. */
  readonly #counts: number[];
  #sum = 0;

  constructor(bounds: readonly number[] = LATENCY_BUCKETS) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error("histogram bounds must increase");
    }
    this.bounds = bounds;
    this.#counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
  }

  /** Observations at or below each bound, then all of them (le="+Inf"). */
  cumulative(): number[] {
    let total = 0;
    return this.#counts.map((n) => (total += n));
  }

  get sum(): number {
    return this.#sum;
  }

  get count(): number {
    return this.#counts.reduce((a, b) => a + b, 0);
  }
}
