// `redirect_https = true`: a request that came over plain HTTP is answered
// 308 Permanent Redirect (RFC 9110 §15.4.9: the method and body are kept)
// to the same host, path and query on the HTTPS listen address's port, as
// lighttpd's `url.redirect` on `$HTTP["scheme"] == "http"` and nginx's
// `return 308 https://$host$request_uri` do. A request a trusted proxy says
// came over HTTPS (X-Forwarded-Proto) is not redirected again.

import type { MiddlewareHandler } from "hono";
import { UNKNOWN_CONN } from "../src/cgi/conn.ts";
import { hostName } from "../src/http/host-pattern.ts";
import type { ServeEnv } from "../src/runtime.ts";
import { parseListen } from "../src/tls/listen.ts";
import { connOf } from "./handler.ts";

/** The middleware for a config's listen addresses; undefined when none of them is https://. */
export function redirectHttps(listen: readonly string[]): MiddlewareHandler | undefined {
  const secure = listen.map(parseListen).find((l) => l.secure && l.address.kind === "tcp");
  if (secure === undefined || secure.address.kind !== "tcp") return undefined;
  const { port } = secure.address;
  // RFC 9110 §4.2.2: 443 is https's default port, left out of the URL.
  const portPart = port === 443 ? "" : `:${port}`;
  return async (c, next) => {
    const conn = connOf(c);
    const url = new URL(c.req.url);
    // A platform that tells nothing of the connection (Workers) terminated TLS itself: its URL says the scheme.
    if (conn.tls || (conn === UNKNOWN_CONN && url.protocol === "https:")) return next();
    // The URL's host is the Host field's where there is one, else the server's own address (RFC 9112 §3.3).
    const host = hostName(c.req.header("host") || url.host);
    // The client's own path and query, not the normalised one routes see (src/paths.ts).
    const target = (c.env as Partial<ServeEnv> | undefined)?.clientTarget?.target ?? url.pathname + url.search;
    return new Response(null, { status: 308, headers: { location: `https://${host}${portPart}${target}`, "content-length": "0" } });
  };
}
