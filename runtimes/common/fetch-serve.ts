// What a runtime whose server hands over a Fetch Request (Deno.serve,
// Bun.serve) does before the app sees it: the request-head checks the Node
// server makes on the raw head (src/http/request-head.ts), as far as a
// Request still shows them, the answer for a refused one, and the URL the
// app routes on (its path normalised, src/paths.ts), and the connection
// facts it gets with the request.

import { normalizeAddress } from "../../src/cgi/conn.ts";
import type { ClientTarget } from "../../src/cgi/target.ts";
import { errorResponse } from "../../src/errors.ts";
import { isAuthority } from "../../src/http/authority.ts";
import { checkRequestHead, checkTokens, type RequestHeadLimits } from "../../src/http/request-head.ts";
import { normalTarget, pathAndQuery, type EncodedSlashes } from "../../src/paths.ts";
import type { ServeEnv } from "../../src/runtime.ts";

// The runtime's own scheme (Deno says http+unix on a unix socket), or an absolute-form target's (RFC 9112 §3.2.2).
const URL_SCHEME = /^(?:https?|http\+unix):\/\//i;

export interface Admitted {
  request: Request;
  /**
   * The request's HTTP version, which a Fetch Request does not show: one the
   * runtime's parser let through without Host was HTTP/1.0 (RFC 9112 §3.2
   * requires Host of 1.1).
   */
  httpVersion: "1.0" | "1.1";
  /** Set when the URL was rewritten (ServeEnv.clientTarget). */
  clientTarget?: ClientTarget;
}

/**
 * The request as the app is to see it, or the answer refusing it (with
 * Connection: close). `localAuthority` is the server's own `host:port`, the
 * authority of a request without Host (RFC 9112 §3.3); `slashes` what an
 * encoded slash in its path does (src/paths.ts).
 */
export function admit(request: Request, limits: RequestHeadLimits | undefined, localAuthority: () => string, slashes?: EncodedSlashes): Admitted | Response {
  const headers = request.headers;
  const host = headers.get("host");
  const httpVersion = host === null ? "1.0" : "1.1";
  const url = request.url;
  // Bun's URL is the path alone when it had no authority to put in it.
  const pathOnly = url.charCodeAt(0) === 47; /* "/" */
  const sent = pathAndQuery(url);
  const rawHeaders: string[] = [];
  headers.forEach((value, name) => rawHeaders.push(name, value));
  const refused = checkTokens(request.method, rawHeaders) ?? checkRequestHead({ method: request.method, target: sent, httpVersion, rawHeaders }, limits);
  if (refused) return errorResponse(refused.status, { close: true });

  // The URL's authority is the checked Host (as Bun's URL parsing spells it:
  // lower case, no default port), or (Deno) an absolute-form target's, which
  // RFC 9112 §3.2.2 puts in place of Host. Bun builds the URL from Host
  // whatever the target says.
  const scheme = pathOnly ? null : URL_SCHEME.exec(url);
  const authority = scheme ? url.slice(scheme[0].length, url.length - sent.length) : undefined;
  // Host passed checkRequestHead: an authority spelt as it is needs no second check.
  const asHost = authority !== undefined && host !== null && authority.toLowerCase() === host.toLowerCase();
  if (!pathOnly && !asHost && (authority === undefined || !isAuthority(authority))) return errorResponse(400, { close: true });
  let replaced: Headers | undefined;
  if (authority !== undefined && host !== null && !asHost && !sameHost(authority, host)) {
    replaced = new Headers(headers);
    replaced.set("host", authority);
  }
  const normal = normalTarget(sent, slashes);
  if (normal === undefined && !pathOnly && replaced === undefined) return { request, httpVersion };
  const origin = pathOnly ? `http://${localAuthority()}` : url.slice(0, url.length - sent.length);
  const init = replaced === undefined ? request : { method: request.method, headers: replaced, body: request.body, signal: request.signal, duplex: "half" };
  let rewritten: Request;
  try {
    rewritten = new Request(origin + (normal ?? sent), init);
  } catch {
    // A method a Fetch Request may not carry (TRACE on Deno) or a URL it cannot hold.
    return errorResponse(400, { close: true });
  }
  return { request: rewritten, httpVersion, clientTarget: normal === undefined ? undefined : { url: rewritten.url, target: sent } };
}

/** True when two checked authorities name the same host and port once URL parsing has spelt them alike. */
function sameHost(a: string, b: string): boolean {
  try {
    return new URL(`http://${a}/`).host === new URL(`http://${b}/`).host;
  } catch {
    return false;
  }
}

/**
 * What the app gets with an admitted request: the connection's ends, whether
 * it came over TLS (`local.secure`: these servers tell nothing more of the
 * handshake) and the client's own target. No onClientGone: the gateways
 * listen to request.signal then.
 */
export function fetchEnv(admitted: Admitted, remoteAddress: string | undefined, remotePort: number | undefined, local: { address: string; port: number; secure?: boolean }): ServeEnv {
  return {
    conn: {
      remoteAddress: normalizeAddress(remoteAddress ?? ""),
      remotePort: remotePort ?? 0,
      localAddress: local.address,
      localPort: local.port,
      tls: local.secure === true,
      httpVersion: admitted.httpVersion,
    },
    clientTarget: admitted.clientTarget,
  };
}
