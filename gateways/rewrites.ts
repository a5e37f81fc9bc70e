// The app-level `[[redirects]]` and `[[rewrites]]` (src/rewrite/,
// docs/rewrites.md), after the endpoints postern answers itself and before
// the routes. A redirect answers; a rewrite hands the request, at its new
// URL, to the routes alone: hono chose the route for the client's path
// before any middleware ran, so the request is routed again, on the new
// path, without going through the app's middleware a second time (as
// lighttpd's mod_rewrite works before its request handlers choose).
// REQUEST_URI keeps the client's target (ServeEnv.clientTarget), as lighttpd's
// does; SCRIPT_NAME and PATH_INFO follow the new path.

import type { MiddlewareHandler } from "hono";
import { requestTarget } from "../src/cgi/target.ts";
import type { Config } from "../src/config.ts";
import { errorResponse } from "../src/errors.ts";
import { hostName } from "../src/http/host-pattern.ts";
import { formatKey } from "../src/config-locate.ts";
import { normalTarget, pathAndQuery } from "../src/paths.ts";
import { redirect } from "../src/rewrite/redirect.ts";
import { MAX_REWRITES, rewrite } from "../src/rewrite/rewrite.ts";
import { compileRules } from "../src/rewrite/rules.ts";
import type { Runtime } from "../src/runtime.ts";
import { derivedEnv, logRequestError, type Router } from "./handler.ts";
import { clientTargetOf, requestAt } from "./request-path.ts";

export type UrlRules = Pick<Config, "redirects" | "rewrites" | "encodedSlashes">;

/** The middleware, or undefined when there are no rules. `routes` serves a rewritten request: the app's routes, without its middleware. */
export function urlRules(config: UrlRules, runtime: Runtime, routes: Router): MiddlewareHandler | undefined {
  if (config.redirects.length === 0 && config.rewrites.length === 0) return undefined;
  const redirects = compileRules(config.redirects);
  const rewrites = compileRules(config.rewrites);
  return async (c, next) => {
    const request = c.req.raw;
    // The path routes see (where no server normalised it first: Workers).
    const url = normalTarget(request.url, config.encodedSlashes) ?? request.url;
    const { pathname, search, authority } = requestTarget(url);
    const host = hostName(authority);
    const sent = redirect(redirects, pathname, search, host);
    if (sent) return new Response(null, { status: sent.status, headers: { location: sent.location } });
    const result = rewrite(rewrites, pathname + search, host, config.encodedSlashes);
    if (result.kind === "unchanged") return next();
    if (result.kind === "loop") {
      const rule = formatKey(["rewrites", result.rule.index]);
      logRequestError(runtime, c.env, `rewrites: ${pathAndQuery(request.url)} still rewritten after ${MAX_REWRITES} rewrites (last to ${result.target}, matching ${rule}): answered 500`);
      return errorResponse(500);
    }
    const client = clientTargetOf(c.env)?.target ?? pathAndQuery(request.url);
    const rewritten = requestAt(request, url.slice(0, url.length - (pathname + search).length) + result.target);
    return routes.fetch(rewritten, derivedEnv(c.env, { clientTarget: { url: rewritten.url, target: client } }));
  };
}
