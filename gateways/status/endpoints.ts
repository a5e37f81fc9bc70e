// The [metrics] and [status] endpoints: app-level middleware that answers
// their paths before any route, to the clients their `allow` lists only (the
// client as trusted proxies make it out, gateways/trusted-proxies.ts). Any
// other client gets 403, as nginx's `deny` and lighttpd's mod_access give:
// the path is no secret worth a 404, and a 403 tells an operator that the
// allow list, not the path, is what to fix.

import type { Context, MiddlewareHandler } from "hono";
import { errorResponse } from "../../src/errors.ts";
import { AddressSet } from "../../src/http/cidr.ts";
import { CONTENT_TYPE, exposition } from "../../src/metrics/exposition.ts";
import type { EndpointOptions } from "../../src/metrics/options.ts";
import { connOf } from "../handler.ts";
import { statusPage } from "./page.ts";
import { metricFamilies } from "./prometheus.ts";
import { takeSnapshot, type StatusSources } from "./snapshot.ts";

/**
 * A strict policy for the status page: nothing loads from anywhere, styles
 * are inline, the one script runs by its nonce (so a value that slipped
 * through unescaped still could not run), and it may fetch only the page.
 */
function pagePolicy(nonce: string): string {
  return `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

const COMMON_HEADERS = { "cache-control": "no-store", "x-content-type-options": "nosniff" };

export interface Endpoints {
  metrics?: EndpointOptions;
  status?: EndpointOptions;
}

export function statusEndpoints(endpoints: Endpoints, sources: StatusSources): MiddlewareHandler {
  const served = new Map<string, { allow: AddressSet; answer: (c: Context) => Response }>();
  if (endpoints.metrics) served.set(endpoints.metrics.path, { allow: new AddressSet(endpoints.metrics.allow), answer: () => metricsAnswer(sources) });
  if (endpoints.status) served.set(endpoints.status.path, { allow: new AddressSet(endpoints.status.allow), answer: (c) => statusAnswer(c, sources) });
  return async (c, next) => {
    const endpoint = served.get(c.req.path);
    if (endpoint === undefined) return next();
    if (!endpoint.allow.has(connOf(c).remoteAddress)) return errorResponse(403);
    const method = c.req.method;
    if (method !== "GET" && method !== "HEAD") {
      const refused = errorResponse(405);
      refused.headers.set("allow", "GET, HEAD");
      return refused;
    }
    return endpoint.answer(c);
  };
}

function metricsAnswer(sources: StatusSources): Response {
  const text = exposition(metricFamilies(takeSnapshot(sources), sources.requests));
  return new Response(text, { headers: { "content-type": CONTENT_TYPE, ...COMMON_HEADERS } });
}

/** The page, or with `?json` the same snapshot as JSON (lighttpd's mod_status `?json`). */
function statusAnswer(c: Context, sources: StatusSources): Response {
  const snapshot = takeSnapshot(sources);
  if (new URL(c.req.url).searchParams.has("json")) {
    return new Response(JSON.stringify(snapshot), { headers: { "content-type": "application/json", ...COMMON_HEADERS } });
  }
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const headers = { "content-type": "text/html; charset=utf-8", "content-security-policy": pagePolicy(nonce), "referrer-policy": "no-referrer", ...COMMON_HEADERS };
  return new Response(statusPage(snapshot, nonce), { headers });
}
