// Bun.serve's TLS options for `[tls]`: the default certificate first, then
// one entry per `[[tls.certs]]` host for SNI (RFC 6066 §3), client
// certificates checked against `ca`, and TLS 1.0 and 1.1 turned off (RFC
// 8996). Bun.serve tells a request nothing of the handshake (no protocol,
// cipher or client certificate), so `client_auth = "request"`, which leaves
// the backend to tell verified clients from the others, is refused.

import type { TlsMaterial } from "../../src/tls/material.ts";
import type { BunTls } from "./api.ts";

/** What Bun.serve's TLS offers. */
export const BUN_TLS = { sni: true, clientAuth: false };

export function bunTls(material: TlsMaterial): BunTls[] {
  const common = {
    ...(material.ca === undefined ? {} : { ca: material.ca }),
    requestCert: material.clientAuth !== "off",
    rejectUnauthorized: material.clientAuth === "require",
  };
  return [
    { cert: material.cert, key: material.key, ...common },
    ...material.certs.flatMap((pair) => pair.hosts.map((serverName) => ({ cert: pair.cert, key: pair.key, serverName, ...common }))),
  ];
}
