// The middleware that makes a request from a trusted proxy look as it did at
// the client (src/http/real-client.ts): everything after it — the CGI
// variables of every gateway, balancing by client address, the access log —
// reads the connection from the env it leaves (connOf), so sees the client.

import type { MiddlewareHandler } from "hono";
import type { ConnInfo } from "../src/cgi/conn.ts";
import { AddressSet } from "../src/http/cidr.ts";
import { realClient } from "../src/http/real-client.ts";
import type { ServeEnv } from "../src/runtime.ts";
import { connOf } from "./handler.ts";

// Envs already made for a client: a local redirect serves its inner request
// with one, and the chain must not be walked twice.
const resolved = new WeakSet<object>();

/**
 * `env` with the connection `conn`; everything else (a platform's bindings,
 * onClientGone) still comes from `env`.
 */
function withConn(env: unknown, conn: ConnInfo): ServeEnv {
  const base = (typeof env === "object" && env !== null ? env : {}) as Partial<ServeEnv>;
  const derived = Object.create(base) as ServeEnv;
  Object.defineProperty(derived, "conn", { value: conn, enumerable: true });
  // A runtime's env may keep its state in private fields, which only answer to the env itself.
  const gone = base.onClientGone;
  if (typeof gone === "function") Object.defineProperty(derived, "onClientGone", { value: gone.bind(base) });
  resolved.add(derived);
  return derived;
}

/**
 * `app.use(trustedProxies(["10.0.0.0/8", "::1"]))`: from those peers,
 * Forwarded / X-Forwarded-For / -Proto / -Port say who the client is and how
 * it connected; from any other peer they change nothing (they still reach
 * the backend as HTTP_X_FORWARDED_FOR and the like, as nginx passes them).
 * Throws an Error naming an entry that is neither an address nor a block.
 */
export function trustedProxies(entries: readonly string[]): MiddlewareHandler {
  const trusted = new AddressSet(entries);
  return async (c, next) => {
    if (trusted.size > 0 && !resolved.has(c.env as object)) {
      const peer = connOf(c);
      const client = realClient(peer, c.req.raw.headers, trusted);
      if (client !== peer) c.env = withConn(c.env, client);
    }
    await next();
  };
}
