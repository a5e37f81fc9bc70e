// The middleware that makes a request from a trusted proxy look as it did at
// the client (src/http/real-client.ts): everything after it — the CGI
// variables of every gateway, balancing by client address, the access log —
// reads the connection from the env it leaves (connOf), so sees the client.

import type { MiddlewareHandler } from "hono";
import { AddressSet, everyAddressIn, parseCidr } from "../src/http/cidr.ts";
import { REAL_IP_HEADERS, realClient, type RealIpHeader } from "../src/http/real-client.ts";
import type { ConnInfo } from "../src/cgi/conn.ts";
import { connOf, derivedEnv } from "./handler.ts";

// Set on an env made for a client, and so on every env made from it: a
// local redirect serves its inner request with one, and the chain must not
// be walked twice. Its value is the peer whose fields were believed.
const RESOLVED = Symbol("client resolved");

/** The trusted proxy a request came through when its forwarding fields were believed (a proxy route appends its own hop to them). */
export function forwardedBy(env: unknown): ConnInfo | undefined {
  return (env as Record<symbol, ConnInfo | undefined> | undefined)?.[RESOLVED];
}

/** What trustedProxies() is told besides the proxies. */
export interface TrustedProxiesOptions {
  /**
   * The fields the proxies set, the only ones read: "X-Forwarded-For" (with
   * X-Forwarded-Proto / -Port; the default) or "Forwarded" (RFC 7239).
   */
  realIpHeader?: RealIpHeader;
}

/**
 * `app.use(trustedProxies(["10.0.0.0/8", "::1"]))`: from those peers,
 * X-Forwarded-For / -Proto / -Port (or, with `realIpHeader: "Forwarded"`,
 * only Forwarded) say who the client is and how it connected; from any other
 * peer they change nothing (they still reach the backend as
 * HTTP_X_FORWARDED_FOR and the like, as nginx passes them). Throws an Error
 * naming an entry that is neither an address nor a block.
 */
export function trustedProxies(entries: readonly string[], options: TrustedProxiesOptions = {}): MiddlewareHandler {
  const trusted = new AddressSet(entries);
  const header = options.realIpHeader ?? "X-Forwarded-For";
  if (!REAL_IP_HEADERS.includes(header)) throw new Error(`realIpHeader: expected ${REAL_IP_HEADERS.map((h) => JSON.stringify(h)).join(" or ")}, found ${JSON.stringify(header)}`);
  return async (c, next) => {
    if (trusted.size > 0 && forwardedBy(c.env) === undefined) {
      const peer = connOf(c);
      const client = realClient(peer, c.req.raw.headers, trusted, header);
      if (client !== peer) c.env = derivedEnv(c.env, { conn: client, [RESOLVED]: peer });
    }
    await next();
  };
}

/**
 * What `postern check` warns about in a trusted_proxies list (written at
 * `line`): a block that holds every IPv4 or every IPv6 address trusts every
 * client that can reach postern directly to say who it is.
 */
export function trustedProxiesWarnings(entries: readonly string[], line: number): { line: number; message: string }[] {
  return entries.flatMap((entry) => {
    const cidr = parseCidr(entry);
    const family = typeof cidr === "string" ? undefined : everyAddressIn(cidr);
    if (family === undefined) return [];
    const message =
      `trusted_proxies: ${JSON.stringify(entry)} holds every ${family} address, so any client that reaches postern ` +
      `directly can set its own address and scheme; list the proxies' own addresses or subnet`;
    return [{ line, message }];
  });
}
