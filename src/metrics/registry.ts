// Counters and histograms held per set of label values (one per route, per
// route and backend...), for the exposition: each family lists its series in
// the order they were first seen.

import type { Labels } from "./exposition.ts";
import { Histogram } from "./histogram.ts";

/** Series of one family, by label values. */
class Series<T> {
  readonly #make: () => T;
  readonly #series = new Map<string, { labels: Labels; value: T }>();

  constructor(make: () => T) {
    this.#make = make;
  }

  /** The series of `labels`, made at its first use. */
  of(labels: Labels): { labels: Labels; value: T } {
    // JSON of the values in key order: distinct label sets never share a key.
    const key = JSON.stringify(Object.entries(labels));
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { labels: { ...labels }, value: this.#make() };
      this.#series.set(key, series);
    }
    return series;
  }

  all(): { labels: Labels; value: T }[] {
    return [...this.#series.values()];
  }
}

export class CounterSeries {
  readonly #series = new Series(() => ({ n: 0 }));

  add(labels: Labels, by = 1): void {
    this.#series.of(labels).value.n += by;
  }

  samples(): { labels: Labels; value: number }[] {
    return this.#series.all().map(({ labels, value }) => ({ labels, value: value.n }));
  }
}

export class HistogramSeries {
  readonly #series: Series<Histogram>;

  constructor(bounds?: readonly number[]) {
    this.#series = new Series(() => new Histogram(bounds));
  }

  observe(labels: Labels, value: number): void {
    this.#series.of(labels).value.observe(value);
  }

  samples(): { labels: Labels; histogram: Histogram }[] {
    return this.#series.all().map(({ labels, value }) => ({ labels, histogram: value }));
  }
}
