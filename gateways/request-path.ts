// Routing on the normalised request path (src/paths.ts): the getPath a hono
// app routes with, and the guard every gateway handler sits behind, so that
// an app that routes on the path as sent cannot send "//cgi-bin/x.pl" past
// its "/cgi-bin/*" route to a route that would serve the script's source.

import type { Context, MiddlewareHandler } from "hono";
import { getPath as honoGetPath } from "hono/utils/url";
import type { ClientTarget } from "../src/cgi/target.ts";
import { errorResponse } from "../src/errors.ts";
import { normalTarget, pathAndQuery, type EncodedSlashes } from "../src/paths.ts";
import type { ServeEnv } from "../src/runtime.ts";
import { derivedEnv, redirectDepth, setRedirectDepth } from "./handler.ts";

/**
 * The getPath that routes a request on its path normalised with `slashes`
 * for encoded slashes (src/paths.ts): hono's own path (percent-decoded as
 * hono decodes it) of that normal path.
 */
export function routingPath(slashes: EncodedSlashes): (request: Request) => string {
  return (request) => {
    const normal = normalTarget(request.url, slashes);
    return normal === undefined ? honoGetPath(request) : pathOf(normal);
  };
}

/**
 * The path to route a request on, encoded slashes refused. postern's serve()
 * and createApp route with it; any hono app can: `new Hono({ getPath })`.
 */
export const getPath: (request: Request) => string = routingPath("refuse");

/** hono's path of a normalised URL. */
function pathOf(normalUrl: string): string {
  return honoGetPath({ url: normalUrl } as Request);
}

/**
 * A gateway handler that refuses (404) a request the app routed on a path
 * that is not normal: which route it should have reached is unknown, and the
 * gateway would map it onto its root as the normal path. With `slashes`
 * other than "refuse" (an app routing with routingPath(slashes), where no
 * server normalised the path: Workers), the gateway is handed the request at
 * its normal URL, since only there is an encoded slash what `slashes` makes
 * it; REQUEST_URI keeps the client's target.
 */
export function onNormalPathOnly<H extends MiddlewareHandler>(handler: H, slashes: EncodedSlashes = "refuse"): H {
  const guarded: MiddlewareHandler = (c, next) => {
    const url = c.req.raw.url;
    const normal = normalTarget(url, slashes);
    if (normal === undefined) return handler(c, next);
    if (c.req.path !== pathOf(normal)) return Promise.resolve(errorResponse(404));
    if (slashes !== "refuse") atNormalUrl(c, normal);
    return handler(c, next);
  };
  return Object.assign(guarded, handler);
}

/** Puts `c`'s request at its normal URL, the client's target kept for REQUEST_URI (ServeEnv.clientTarget). */
function atNormalUrl(c: Context, normal: string): void {
  const request = c.req.raw;
  c.req.raw = requestAt(request, normal);
  c.env = derivedEnv(c.env, { clientTarget: { url: c.req.raw.url, target: clientTargetOf(c.env)?.target ?? pathAndQuery(request.url) } });
}

/** `request` at another URL, its body and signal kept: the same request to the routes. */
export function requestAt(request: Request, url: string): Request {
  const init: RequestInit & { duplex: "half" } = { method: request.method, headers: request.headers, body: request.body, signal: request.signal, duplex: "half" };
  const moved = new Request(url, init);
  // A local redirect's request stays one: its depth bounds the chain of them (RFC 3875 §6.2.2).
  const depth = redirectDepth(request);
  if (depth > 0) setRedirectDepth(moved, depth);
  return moved;
}

/** The client's own target where the server rewrote the URL (ServeEnv.clientTarget). */
export function clientTargetOf(env: unknown): ClientTarget | undefined {
  return (env as Partial<ServeEnv> | undefined)?.clientTarget;
}
