// The [metrics] and [status] tables wired into an app: the recent error
// lines kept as they are logged, the finished requests counted, every
// route's handler read when asked; createApp adds what this gives it.

import type { MiddlewareHandler } from "hono";
import type { Config } from "../../src/config.ts";
import type { Runtime } from "../../src/runtime.ts";
import { statusEndpoints } from "./endpoints.ts";
import { keepingErrors, RecentErrors } from "./recent-errors.ts";
import { RequestMetrics } from "../../src/metrics/requests.ts";
import type { RouteEntry } from "./snapshot.ts";

export interface Observability {
  /** The app's runtime, its logError also keeping the recent lines for the page. */
  runtime: Runtime;
  /** Answers the two paths, before the routes. */
  endpoints: MiddlewareHandler;
  /** Filled in by createApp, each route as it is built. */
  routes: RouteEntry[];
  requests: RequestMetrics;
}

/** What an app with `[metrics]` or `[status]` needs; undefined when it has neither. */
export function observability(config: Pick<Config, "metrics" | "status">, runtime: Runtime): Observability | undefined {
  if (config.metrics === undefined && config.status === undefined) return undefined;
  const errors = new RecentErrors();
  const sources = { runtime: keepingErrors(runtime, errors), routes: [] as RouteEntry[], requests: new RequestMetrics(), errors };
  return { runtime: sources.runtime, endpoints: statusEndpoints(config, sources), routes: sources.routes, requests: sources.requests };
}
