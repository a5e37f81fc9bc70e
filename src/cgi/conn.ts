// The connection facts a runtime reports for each request. They become the
// RFC 3875 meta-variables REMOTE_ADDR (§4.1.8), SERVER_NAME fallback (§4.1.14),
// SERVER_PORT (§4.1.15), SERVER_PROTOCOL (§4.1.16), HTTPS and lighttpd's SSL_*
// variables (see env.ts and src/tls/variables.ts).

/** What the server knows about the connection a request came on; each runtime fills it in. */
export interface ConnInfo {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** The request came over TLS (HTTPS=on). */
  tls: boolean;
  /** "1.1", "1.0", "2". */
  httpVersion: string;
  /** What the TLS handshake settled, where the runtime tells (HTTPS listeners only). */
  tlsFacts?: TlsFacts;
}

/** A TLS connection's parameters, as the runtime's TLS server reports them. */
export interface TlsFacts {
  /** "TLSv1.3", "TLSv1.2" (OpenSSL's SSL_get_version). */
  protocol?: string;
  /** OpenSSL's cipher name: "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256". */
  cipher?: string;
  /** The server name the client asked for (SNI, RFC 6066 §3). */
  serverName?: string;
  /** Present when client certificates were asked for. */
  client?: ClientCertificate;
}

/** What a client certificate said, as lighttpd exports it. */
export interface ClientCertificate {
  /** "SUCCESS", "NONE", or "FAILED:" and why. */
  verify: string;
  /** The subject's fields in order: [["C", "DE"], ["CN", "alice"]]. */
  subject?: readonly (readonly [string, string])[];
  issuer?: readonly (readonly [string, string])[];
  /** Serial number, hexadecimal. */
  serial?: string;
}

/** For runtimes that cannot tell (workerd): "" addresses, port 0, plain HTTP/1.1. */
export const UNKNOWN_CONN: ConnInfo = Object.freeze({
  remoteAddress: "",
  remotePort: 0,
  localAddress: "",
  localPort: 0,
  tls: false,
  httpVersion: "1.1",
});

const MAPPED_PREFIX = "::ffff:";

/**
 * Presents an IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2), as dual-stack
 * sockets report IPv4 peers, in its IPv4 form: `::ffff:127.0.0.1` -> `127.0.0.1`.
 * Every other address is returned unchanged.
 */
export function normalizeAddress(address: string): string {
  if (
    address.length > MAPPED_PREFIX.length &&
    address.charCodeAt(0) === 58 /* ":" */ &&
    address.slice(0, MAPPED_PREFIX.length).toLowerCase() === MAPPED_PREFIX &&
    address.includes(".", MAPPED_PREFIX.length)
  ) {
    return address.slice(MAPPED_PREFIX.length);
  }
  return address;
}
