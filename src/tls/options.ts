// The `[tls]` table of postern.toml and `redirect_https`: the certificate
// and key HTTPS listeners (`listen = ["https://..."]`) present, the CA that
// client certificates are checked against, and the plain-HTTP listeners'
// redirect to HTTPS. File paths are taken from the config file's directory.

import type { KeyPath } from "../config-locate.ts";
import type { Schema } from "../config-schema.ts";
import { hostPatternProblem } from "../http/host-pattern.ts";

/** How client certificates are asked for (lighttpd `ssl.verifyclient.*`, nginx `ssl_verify_client`). */
export const CLIENT_AUTH = ["off", "request", "require"] as const;
export type ClientAuth = (typeof CLIENT_AUTH)[number];

/** One `[[tls.certs]]` table: a certificate for some server names. */
export const TLS_CERT_SCHEMA = {
  host: {
    type: "string[]",
    required: true,
    doc: 'the server names (SNI) this certificate answers, as a route\'s `host` writes them: `"example.com"`, `"*.example.org"`',
  },
  cert: { type: "string", required: true, doc: "PEM file with the certificate and its intermediates; reread on SIGHUP" },
  key: { type: "string", required: true, doc: "PEM file with its private key; reread on SIGHUP" },
} as const satisfies Schema;

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
  certs: {
    type: { tables: TLS_CERT_SCHEMA },
    default: [],
    doc: "`[[tls.certs]]` tables: more certificates, each presented to the clients that ask for one of its `host` names (SNI); the first that matches wins, `cert` and `key` answer the others",
  },
} as const satisfies Schema;

/** The `[tls]` table, its paths still as written. */
export interface TlsConfig {
  cert: string;
  key: string;
  ca?: string;
  clientAuth: ClientAuth;
  /** `[[tls.certs]]`: certificates chosen by SNI. */
  certs: { host: string[]; cert: string; key: string }[];
}

/** A validated `[tls]` table as Config holds it. */
export function tlsConfig(table: Record<string, unknown>): TlsConfig {
  return {
    cert: table.cert as string,
    key: table.key as string,
    ...(table.ca === undefined ? {} : { ca: table.ca as string }),
    clientAuth: table.client_auth as ClientAuth,
    certs: table.certs as { host: string[]; cert: string; key: string }[],
  };
}

/** Why `[tls]` and the listen addresses do not fit together, or undefined. */
export function tlsProblem(tls: TlsConfig | undefined, listen: readonly { secure: boolean }[], redirectHttps: boolean): { key: KeyPath; message: string } | undefined {
  const secure = listen.some((l) => l.secure);
  if (secure && tls === undefined) return { key: ["listen"], message: "an https:// address needs a [tls] table with `cert` and `key`" };
  if (tls !== undefined && tls.clientAuth !== "off" && tls.ca === undefined) return { key: ["tls", "client_auth"], message: "needs `ca`, the authorities client certificates are checked against" };
  for (const [i, pair] of (tls?.certs ?? []).entries()) {
    const problems = pair.host.map(hostPatternProblem).filter((p) => p !== undefined);
    if (pair.host.length === 0) return { key: ["tls", "certs", i, "host"], message: "expected at least one host name" };
    if (problems.length > 0) return { key: ["tls", "certs", i, "host"], message: problems[0]! };
  }
  if (redirectHttps && !secure) return { key: ["redirect_https"], message: "needs an https:// address in `listen` to redirect to" };
  return undefined;
}
