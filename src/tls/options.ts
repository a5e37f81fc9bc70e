// The `[tls]` table of postern.toml and `redirect_https`: the certificate
// and key HTTPS listeners (`listen = ["https://..."]`) present, the CA that
// client certificates are checked against, and the plain-HTTP listeners'
// redirect to HTTPS. File paths are taken from the config file's directory.

import type { Schema } from "../config-schema.ts";

/** How client certificates are asked for (lighttpd `ssl.verifyclient.*`, nginx `ssl_verify_client`). */
export const CLIENT_AUTH = ["off", "request", "require"] as const;
export type ClientAuth = (typeof CLIENT_AUTH)[number];

export const TLS_SCHEMA = {
  cert: {
    type: "string",
    required: true,
    doc: "PEM file with the server's certificate, followed by its intermediate certificates (the full chain); reread on SIGHUP",
  },
  key: { type: "string", required: true, doc: "PEM file with the certificate's private key (unencrypted); reread on SIGHUP" },
  ca: {
    type: "string",
    doc: "PEM file with the certificate authorities client certificates must be issued by; needed by `client_auth`",
  },
  client_auth: {
    type: "string",
    oneOf: CLIENT_AUTH,
    default: "off",
    doc: '`"request"` asks clients for a certificate and lets them in without one (the backend sees `SSL_CLIENT_VERIFY`); `"require"` refuses the handshake without a valid one; `"off"` never asks',
  },
} as const satisfies Schema;

/** The `[tls]` table, its paths still as written. */
export interface TlsConfig {
  cert: string;
  key: string;
  ca?: string;
  clientAuth: ClientAuth;
  /** `[[tls.certs]]`: certificates chosen by SNI. */
  certs?: { host: string[]; cert: string; key: string }[];
}

/** A validated `[tls]` table as Config holds it. */
export function tlsConfig(table: Record<string, unknown>): TlsConfig {
  return {
    cert: table.cert as string,
    key: table.key as string,
    ...(table.ca === undefined ? {} : { ca: table.ca as string }),
    clientAuth: table.client_auth as ClientAuth,
  };
}

/** Why `[tls]` and the listen addresses do not fit together, or undefined. */
export function tlsProblem(tls: TlsConfig | undefined, listen: readonly { secure: boolean }[], redirectHttps: boolean): { key: string[]; message: string } | undefined {
  const secure = listen.some((l) => l.secure);
  if (secure && tls === undefined) return { key: ["listen"], message: "an https:// address needs a [tls] table with `cert` and `key`" };
  if (tls !== undefined && tls.clientAuth !== "off" && tls.ca === undefined) return { key: ["tls", "client_auth"], message: "needs `ca`, the authorities client certificates are checked against" };
  if (redirectHttps && !secure) return { key: ["redirect_https"], message: "needs an https:// address in `listen` to redirect to" };
  return undefined;
}
