// What the status page and the metrics show, taken at once when asked: each
// route with its request totals and what its handler holds (stats()), the
// process, and the recent errors.

import type { RouteStats } from "../../src/metrics/stats.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { GatewayHandler } from "../handler.ts";
import type { ErrorLine, RecentErrors } from "./recent-errors.ts";
import type { RequestMetrics } from "../../src/metrics/requests.ts";

/** A route of the app, as the status page lists it. */
export interface RouteEntry {
  /** As messages name it: `routes[0] (fastcgi /app/*)`; the label of its metrics. */
  name: string;
  gateway: string;
  path: string;
  handler: GatewayHandler;
}

/** Where a snapshot is taken from: filled in as createApp builds the routes. */
export interface StatusSources {
  runtime: Runtime;
  routes: RouteEntry[];
  requests: RequestMetrics;
  errors: RecentErrors;
}

export interface RouteStatus extends RouteStats {
  name: string;
  gateway: string;
  path: string;
  requests: number;
  /** Answers with a 5xx status. */
  errors: number;
}

export interface StatusSnapshot {
  /** When it was taken, and when the process started (where the runtime tells): seconds since the epoch. */
  time: number;
  startTime?: number;
  runtime: string;
  /** Bytes resident, where the runtime tells. */
  residentBytes?: number;
  routes: RouteStatus[];
  /** The last error log lines, newest first. */
  errors: ErrorLine[];
}

export function takeSnapshot(sources: StatusSources): StatusSnapshot {
  const routes = sources.routes.map((route) => ({
    name: route.name,
    gateway: route.gateway,
    path: route.path,
    ...sources.requests.totals(route.name),
    ...route.handler.stats?.(),
  }));
  const resident = sources.runtime.residentMemory?.();
  // The High Resolution Time origin: when the process started, on Node, Deno and Bun; 0 where there is no process to tell of (workerd).
  const origin = performance.timeOrigin;
  return {
    time: Date.now() / 1000,
    ...(origin > 0 ? { startTime: Math.floor(origin) / 1000 } : {}),
    runtime: sources.runtime.name,
    ...(resident === undefined ? {} : { residentBytes: resident }),
    routes,
    errors: sources.errors.newestFirst(),
  };
}
