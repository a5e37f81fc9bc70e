// Node's TLS for the `https://` listen addresses: the secure server options
// (TLS 1.2 and later, RFC 8996 retiring 1.0 and 1.1; OpenSSL's cipher list as
// Node ships it, forward-secret suites first), the certificate chosen by SNI
// (RFC 6066 §3), client certificates, certificates swapped on reload
// (setSecureContext: open connections keep their session, new handshakes get
// the new chain), and what a handshake settled, for SSL_* variables.

import { createSecureContext, type SecureContext, type TLSSocket } from "node:tls";
import type { ClientCertificate, TlsFacts } from "../../src/cgi/conn.ts";
import { keyPairFor, type KeyPair, type TlsMaterial } from "../../src/tls/material.ts";

/** The oldest protocol version offered. */
export const MIN_TLS_VERSION = "TLSv1.2";

/** What a secure server is created with, and swapped on reload. */
export class NodeTlsContexts {
  #material: TlsMaterial;
  #contexts: Map<KeyPair, SecureContext>;
  constructor(material: TlsMaterial) {
    this.#material = material;
    this.#contexts = contextsOf(material);
  }

  /** Options for tls.createServer / http2.createSecureServer. */
  serverOptions() {
    return {
      ...this.defaultOptions(),
      // RFC 6066 §3: the chain for the name the client asked for.
      SNICallback: (serverName: string, done: (err: Error | null, context?: SecureContext) => void) =>
        done(null, this.#contexts.get(keyPairFor(this.#material, serverName))),
    };
  }

  /** The default chain's options, which setSecureContext takes. */
  defaultOptions() {
    const m = this.#material;
    return {
      cert: m.cert,
      key: m.key,
      minVersion: MIN_TLS_VERSION,
      ...(m.ca === undefined ? {} : { ca: m.ca }),
      requestCert: m.clientAuth !== "off",
      rejectUnauthorized: m.clientAuth === "require",
    } as const;
  }

  /** New certificates for handshakes to come; throws (the old ones stay) when one does not load. */
  replace(material: TlsMaterial): void {
    const contexts = contextsOf(material);
    this.#material = material;
    this.#contexts = contexts;
  }
}

function contextsOf(material: TlsMaterial): Map<KeyPair, SecureContext> {
  const contexts = new Map<KeyPair, SecureContext>();
  for (const pair of [material, ...material.certs]) {
    contexts.set(
      pair,
      createSecureContext({
        cert: pair.cert,
        key: pair.key,
        minVersion: MIN_TLS_VERSION,
        ...(material.ca === undefined ? {} : { ca: material.ca }),
      }),
    );
  }
  return contexts;
}

/** What a TLS socket's handshake settled; `clientAuth` says whether a client certificate was asked for. */
export function tlsFactsOf(socket: TLSSocket, clientAuth: boolean): TlsFacts {
  const protocol = socket.getProtocol();
  const cipher = socket.getCipher();
  const serverName = (socket as TLSSocket & { servername?: string | false }).servername;
  return {
    ...(protocol ? { protocol } : {}),
    ...(cipher ? { cipher: cipher.name } : {}),
    ...(serverName ? { serverName } : {}),
    ...(clientAuth ? { client: clientCertificate(socket) } : {}),
  };
}

function clientCertificate(socket: TLSSocket): ClientCertificate {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return { verify: "NONE" };
  if (!socket.authorized) return { verify: `FAILED:${String(socket.authorizationError)}` };
  return { verify: "SUCCESS", subject: fields(cert.subject), issuer: fields(cert.issuer), serial: cert.serialNumber };
}

/** X509Certificate's "C=DE\nCN=alice" as [["C", "DE"], ["CN", "alice"]]. */
function fields(name: string): [string, string][] {
  return name
    .split("\n")
    .filter((line) => line.includes("="))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]);
}
