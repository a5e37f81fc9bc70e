// Routing on the normalised request path (src/paths.ts): the getPath a hono
// app routes with, and the guard every gateway handler sits behind, so that
// an app that routes on the path as sent cannot send "//cgi-bin/x.pl" past
// its "/cgi-bin/*" route to a route that would serve the script's source.

import type { Context, MiddlewareHandler } from "hono";
import { getPath as honoGetPath } from "hono/utils/url";
import type { ClientTarget } from "../src/cgi/target.ts";
import { errorResponse } from "../src/errors.ts";
import { normalTarget } from "../src/paths.ts";
import type { ServeEnv } from "../src/runtime.ts";

/**
 * The path to route a request on: hono's own (percent-decoded as hono
 * decodes it) of the normalised path. postern's serve() and createApp route
 * with it; any hono app can: `new Hono({ getPath })`.
 */
export function getPath(request: Request): string {
  const normal = normalTarget(request.url);
  return normal === undefined ? honoGetPath(request) : pathOf(normal);
}

/** hono's path of a normalised URL. */
function pathOf(normalUrl: string): string {
  return honoGetPath({ url: normalUrl } as Request);
}

/**
 * True when the app routed `c` on its normalised path: the path is normal
 * already, or the app routes with getPath.
 */
function routedOnNormalPath(c: Context): boolean {
  const normal = normalTarget(c.req.raw.url);
  return normal === undefined || c.req.path === pathOf(normal);
}

/**
 * A gateway handler that refuses (404) a request the app routed on a path
 * that is not normal: which route it should have reached is unknown, and the
 * gateway would map it onto its root as the normal path.
 */
export function onNormalPathOnly<H extends MiddlewareHandler>(handler: H): H {
  const guarded: MiddlewareHandler = (c, next) => (routedOnNormalPath(c) ? handler(c, next) : Promise.resolve(errorResponse(404)));
  return Object.assign(guarded, handler);
}

/** The client's own target where the server rewrote the URL (ServeEnv.clientTarget). */
export function clientTargetOf(env: unknown): ClientTarget | undefined {
  return (env as Partial<ServeEnv> | undefined)?.clientTarget;
}
