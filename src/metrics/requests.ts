// What the answered requests add up to, per route: how many by status class,
// how long they took, how long their backends took. Fed one finished request
// at a time by the request observation (src/request-record.ts), so each
// costs one lookup by route name: the series are held per route, and turned
// into samples only when the metrics are asked for.

import type { Sample } from "./exposition.ts";
import { Histogram } from "./histogram.ts";
import type { RequestRecord } from "../request-record.ts";

/**
 * A request once its answer is over, as the metrics read it: the route that
 * answered (none for a 404 or postern's own pages), the status sent (none
 * when the client left first), the time to the last byte, and the backend
 * and its time to the answer's head where a backend answered.
 */
export type FinishedRequest = Pick<RequestRecord, "route" | "status" | "durationMs" | "backend" | "upstreamMs">;

/** The route label of requests no route answered. */
export const NO_ROUTE = "(none)";

interface RouteSeries {
  /** Requests by status class: "2xx", ..., "none". */
  codes: Map<string, number>;
  latency: Histogram;
  /** By backend address. */
  upstream: Map<string, Histogram>;
  requests: number;
  /** Answers with a 5xx status. */
  errors: number;
}

export class RequestMetrics {
  readonly #routes = new Map<string, RouteSeries>();

  observe(request: FinishedRequest): void {
    const route = request.route ?? NO_ROUTE;
    let series = this.#routes.get(route);
    if (series === undefined) this.#routes.set(route, (series = { codes: new Map(), latency: new Histogram(), upstream: new Map(), requests: 0, errors: 0 }));
    const status = request.status;
    // No status was sent: the client left first (nginx logs 499).
    const code = status === undefined ? "none" : `${Math.floor(status / 100)}xx`;
    series.codes.set(code, (series.codes.get(code) ?? 0) + 1);
    series.latency.observe((request.durationMs ?? 0) / 1000);
    if (request.backend !== undefined && request.upstreamMs !== undefined) {
      let upstream = series.upstream.get(request.backend);
      if (upstream === undefined) series.upstream.set(request.backend, (upstream = new Histogram()));
      upstream.observe(request.upstreamMs / 1000);
    }
    series.requests++;
    if (status !== undefined && status >= 500) series.errors++;
  }

  /** Requests and 5xx answers of a route, for the status page. */
  totals(route: string): { requests: number; errors: number } {
    const series = this.#routes.get(route);
    return { requests: series?.requests ?? 0, errors: series?.errors ?? 0 };
  }

  /** postern_requests_total's samples: by route and status class. */
  requestSamples(): Sample[] {
    return [...this.#routes].flatMap(([route, s]) => [...s.codes].map(([code, value]) => ({ labels: { route, code }, value })));
  }

  latencySamples(): { labels: { route: string }; histogram: Histogram }[] {
    return [...this.#routes].map(([route, s]) => ({ labels: { route }, histogram: s.latency }));
  }

  upstreamSamples(): { labels: { route: string; backend: string }; histogram: Histogram }[] {
    return [...this.#routes].flatMap(([route, s]) => [...s.upstream].map(([backend, histogram]) => ({ labels: { route, backend }, histogram })));
  }
}
