// The value a `balance = "hash"` route keeps a client on one backend by
// (`hash_key`): the client's address, a request header, or a cookie. The
// address is the one the gateway was given for the connection (the real
// client once trusted proxies are resolved), never read from a header here.

import { normalizeAddress } from "../cgi/conn.ts";

/** Reads a request's hash key; the forms are checked by the schema (src/backend/options.ts). */
export type HashKeyOf = (request: Request, clientIp: string) => string | undefined;

/** The reader for `hash_key`; a request without the header or cookie has no key (it goes to the least busy). */
export function hashKeyReader(hashKey: string): HashKeyOf {
  // "::ffff:192.0.2.1" and "192.0.2.1" are one client (src/cgi/conn.ts).
  if (hashKey === "client_ip") return (_, clientIp) => normalizeAddress(clientIp) || undefined;
  const colon = hashKey.indexOf(":");
  const name = hashKey.slice(colon + 1);
  if (hashKey.startsWith("header:")) return (request) => request.headers.get(name) ?? undefined;
  return (request) => cookie(request.headers.get("cookie"), name);
}

/** The first cookie called `name` in a Cookie field (RFC 6265 §5.4: "name=value; name=value"). */
function cookie(field: string | null, name: string): string | undefined {
  if (field === null) return undefined;
  for (const pair of field.split(";")) {
    const eq = pair.indexOf("=");
    if (eq >= 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
