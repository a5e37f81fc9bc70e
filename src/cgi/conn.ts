// The connection facts a runtime reports for each request. They become the
// RFC 3875 meta-variables REMOTE_ADDR (§4.1.8), SERVER_NAME fallback (§4.1.14),
// SERVER_PORT (§4.1.15), SERVER_PROTOCOL (§4.1.16) and HTTPS (see env.ts).

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
