// What the answered requests add up to, per route: how many by status class,
// how long they took, how long their backends took. Fed one finished request
// at a time by the request observation (src/request-record.ts).

import { CounterSeries, HistogramSeries } from "../../src/metrics/registry.ts";
import type { RequestRecord } from "../../src/request-record.ts";

/**
 * A request once its answer is over, as the metrics read it: the route that
 * answered (none for a 404 or postern's own pages), the status sent (none
 * when the client left first), the time to the last byte, and the backend
 * and its time to the answer's head where a backend answered.
 */
export type FinishedRequest = Pick<RequestRecord, "route" | "status" | "durationMs" | "backend" | "upstreamMs">;

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
    this.latency.observe({ route }, (request.durationMs ?? 0) / 1000);
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
