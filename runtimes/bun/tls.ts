// Bun.serve's TLS options for `[tls]`: the default certificate first, then
// one entry per `[[tls.certs]]` host for SNI (RFC 6066 §3), client
// certificates checked against `ca`, and TLS 1.0 and 1.1 turned off (RFC
// 8996; BoringSSL's floor). Bun.serve tells a request nothing of the
// handshake (no protocol, cipher or client certificate): "require" is kept
// (every request comes from a verified client), but `client_auth =
// "request"`, which leaves the backend to tell verified clients from the
// others, is refused.

import type { TlsMaterial } from "../../src/tls/material.ts";
import type { TlsAbilities } from "../common/tls-relisten.ts";
import type { BunTls } from "./api.ts";

/** What Bun.serve's TLS offers: client certificates checked, but not told to the request. */
export const BUN_TLS: TlsAbilities = { sni: true, clientAuth: ["off", "require"] };

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
