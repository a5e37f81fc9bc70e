// What the answered requests add up to, per route: how many by status class,
// how long they took, how long their backends took. Fed one finished request
// at a time by the request observation (src/request-record.ts).

import { CounterSeries, HistogramSeries } from "../../src/metrics/registry.ts";

/** A request once its answer has been sent, as the metrics read it. */
export interface FinishedRequest {
  /** The route that answered, as messages name it; undefined when none did (404, or postern's own pages). */
  route?: string;
  /** The status sent; undefined when the client went away before any. */
  status?: number;
  /** From its arrival to its last byte sent, ms. */
  durationMs: number;
  /** The backend that answered it and how long it took (first byte), where a backend did. */
  backend?: string;
  upstreamMs?: number;
}

/** The route label of requests no route answered. */
export const NO_ROUTE = "(none)";

export class RequestMetrics {
  readonly requests = new CounterSeries();
  readonly latency = new HistogramSeries();
  readonly upstream = new HistogramSeries();
  /** Per route: requests and server errors (5xx), for the status page. */
  readonly #totals = new Map<string, { requests: number; errors: number }>();

  observe(request: FinishedRequest): void {
    const route = request.route ?? NO_ROUTE;
    // No status was sent: the client left first (nginx logs 499).
    const code = request.status === undefined ? "none" : `${Math.floor(request.status / 100)}xx`;
    this.requests.add({ route, code });
    this.latency.observe({ route }, request.durationMs / 1000);
    if (request.backend !== undefined && request.upstreamMs !== undefined) {
      this.upstream.observe({ route, backend: request.backend }, request.upstreamMs / 1000);
    }
    let totals = this.#totals.get(route);
    if (totals === undefined) this.#totals.set(route, (totals = { requests: 0, errors: 0 }));
    totals.requests++;
    if (request.status !== undefined && request.status >= 500) totals.errors++;
  }

  totals(route: string): { requests: number; errors: number } {
    return this.#totals.get(route) ?? { requests: 0, errors: 0 };
  }
}
