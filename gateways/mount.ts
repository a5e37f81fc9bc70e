// Where a route is mounted: SCRIPT_NAME (the mount point) and PATH_INFO (the
// path within it), as RFC 3875 §4.1.13 and §4.1.5 name them, PEP 3333's
// servers set them for a WSGI app and WAGI for a module: for a backend that
// serves a whole path space (a WASI module, a uwsgi, SCGI or WSGI app). A
// route `path = "/py/*"` mounts it at `/py`: `/py/users/1` gives SCRIPT_NAME
// `/py` and PATH_INFO `/users/1`, and the app's own URLs (Flask's url_for)
// then carry the prefix. Parameters are part of the mount (`/u/:id/*` on
// `/u/42/edit` gives `/u/42`). A route `"*"`, or one without a trailing
// `/*`, mounts it at the root: SCRIPT_NAME is empty and PATH_INFO the whole
// path, so an app routes an exact path as it would anywhere. mountedRequest
// is what such a route makes of a request before its backend is taken.

import type { Context } from "hono";
import { routePath } from "hono/route";
import { cgiEnv, variablesOf } from "../src/cgi/env.ts";
import { requestTarget, type RequestTarget } from "../src/cgi/target.ts";
import { errorResponse } from "../src/errors.ts";
import { forwardedBody, type ForwardedBody } from "../src/http/request-body.ts";
import { safePath } from "../src/paths.ts";
import { connOf } from "./handler.ts";
import { clientTargetOf } from "./request-path.ts";

export interface Mounted {
  scriptName: string;
  pathInfo: string;
}

/** Splits the decoded request `path` by the route's hono `pattern` (its segments before the trailing "/*"). */
export function splitAtRoute(path: string, pattern: string): Mounted {
  if (!pattern.endsWith("/*")) return { scriptName: "", pathInfo: path };
  const depth = pattern.slice(0, -2).split("/").length - 1;
  const scriptName = path.split("/").slice(0, depth + 1).join("/");
  return { scriptName, pathInfo: path.slice(scriptName.length) };
}

/** The route keys a mounted app's request is read with. */
export interface MountedOptions {
  max_body_size: number;
  max_buffered_body: number;
  underscores_in_headers: boolean;
}

/** A request to an app mounted at its route, as its backend is to be given it. */
export interface MountedRequest {
  target: RequestTarget;
  /** The CGI environment (src/cgi/env.ts): SCRIPT_NAME the mount, PATH_INFO the rest, CONTENT_LENGTH the body's. */
  env: Record<string, string>;
  /** The body to send (src/http/request-body.ts forwardedBody). */
  body: ForwardedBody["body"];
}

/**
 * What a route that hands its whole path space to an app (wsgi, uwsgi, scgi)
 * makes of a request: its path checked (src/paths.ts), split at the route's
 * mount, its body as request buffering left it (a chunked one with the length
 * it turned out to have), and the CGI environment with `extra` variables.
 * A Response when the path is refused.
 */
export async function mountedRequest(c: Context, o: MountedOptions, extra?: Record<string, string>): Promise<MountedRequest | Response> {
  const request = c.req.raw;
  const target = requestTarget(request.url, clientTargetOf(c.env));
  const safe = safePath(target.pathname);
  if (!safe.ok) return errorResponse(safe.status);
  const { scriptName, pathInfo } = splitAtRoute(safe.path, routePath(c));
  const { body, contentLength } = await forwardedBody(request, { maxBodySize: o.max_body_size, maxBufferedBody: o.max_buffered_body });
  const env = cgiEnv({
    request,
    target,
    conn: connOf(c),
    scriptName,
    pathInfo,
    extra: contentLength === undefined ? extra : { ...extra, CONTENT_LENGTH: contentLength },
    underscoresInHeaders: o.underscores_in_headers,
    variables: variablesOf(c.env),
  });
  return { target, env, body };
}
