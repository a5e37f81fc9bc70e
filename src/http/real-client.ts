// The client as a request's proxies saw it, for a peer in trusted_proxies:
// the chain of hops is walked from the right, past every trusted address,
// and the first one that is not trusted is the client (nginx's realip module
// with real_ip_recursive on, Caddy's trusted_proxies_strict). A client can prepend
// anything to the chain, never append: what it wrote is never reached while
// a trusted proxy stands to its right.

import type { ConnInfo } from "../cgi/conn.ts";
import { formatIp, parseIp, type AddressSet } from "./cidr.ts";
import { parseForwarded, parseForwardedFor, parseForwardedPorts, parseForwardedProtos, type Hop } from "./forwarded.ts";

/**
 * The one field family a trusted proxy is believed through (nginx's
 * `real_ip_header`): a proxy sets one and passes the other on from the
 * client untouched, so reading both would let a client choose its address.
 */
export const REAL_IP_HEADERS = ["X-Forwarded-For", "Forwarded"] as const;
export type RealIpHeader = (typeof REAL_IP_HEADERS)[number];

/**
 * The connection as it began at the client: REMOTE_ADDR and REMOTE_PORT from
 * the chain, HTTPS/REQUEST_SCHEME from its scheme, SERVER_PORT from
 * X-Forwarded-Port or else the scheme's default port. Only the fields of
 * `header`'s family are read. `peer` itself when it is not trusted, or when
 * those fields are missing or malformed.
 */
export function realClient(peer: ConnInfo, headers: Headers, trusted: AddressSet, header: RealIpHeader = "X-Forwarded-For"): ConnInfo {
  if (!trusted.has(peer.remoteAddress)) return peer;
  const hops = header === "Forwarded" ? forwardedHops(headers) : xForwardedHops(headers);
  if (hops === null || hops.length === 0) return peer;
  let address = peer.remoteAddress;
  let remotePort = peer.remotePort;
  // The hop whose sender is the client: the scheme and port it used are that hop's.
  let client = hops[0]!;
  for (let i = hops.length - 1; i >= 0; i--) {
    client = hops[i]!;
    // "unknown", an obfuscated name, a malformed item: the client is behind
    // it, its address unknown; the nearest known one stays (as nginx does).
    if (client.address === undefined) break;
    // parseNode gave only text parseIp reads.
    const bytes = parseIp(client.address)!;
    // One spelling whatever the proxy wrote (RFC 5952).
    address = formatIp(bytes);
    // nginx ≥ 1.11: the port too, when the field gives one.
    remotePort = client.port ?? 0;
    if (!trusted.holds(bytes)) break;
  }
  const proto = client.proto;
  const tls = proto === undefined ? peer.tls : proto === "https";
  const localPort = client.serverPort ?? (proto === undefined ? peer.localPort : tls ? 443 : 80);
  return { ...peer, remoteAddress: address, remotePort, tls, localPort };
}

/** A hop, with the port its sender addressed (X-Forwarded-Port). */
interface ServedHop extends Hop {
  serverPort?: number;
}

/** The hops `Forwarded` describes (RFC 7239), the client's first; null when it is absent or malformed. */
function forwardedHops(headers: Headers): ServedHop[] | null {
  const forwarded = headers.get("forwarded");
  return forwarded === null ? null : parseForwarded(forwarded);
}

/** The hops X-Forwarded-For / -Proto / -Port describe, the client's first; null when none is there. */
function xForwardedHops(headers: Headers): ServedHop[] | null {
  const forwardedFor = headers.get("x-forwarded-for");
  const protoField = headers.get("x-forwarded-proto");
  const portField = headers.get("x-forwarded-port");
  if (forwardedFor === null && protoField === null && portField === null) return null;
  // Without X-Forwarded-For, one hop of unknown address: the scheme and port are still the client's.
  const hops: ServedHop[] = forwardedFor === null ? [] : parseForwardedFor(forwardedFor);
  if (hops.length === 0) hops.push({});
  const protos = protoField === null ? [] : parseForwardedProtos(protoField);
  const ports = portField === null ? [] : parseForwardedPorts(portField);
  hops.forEach((hop, i) => {
    const proto = aligned(protos, hops.length, i);
    if (proto !== undefined) hop.proto = proto;
    const port = aligned(ports, hops.length, i);
    if (port !== undefined) hop.serverPort = port;
  });
  return hops;
}

/**
 * The item of a scheme or port list that goes with hop `index` of `count`:
 * the one item when there is one (a proxy that sets the field for the
 * client), the index-th when each hop appended its own, else none.
 */
function aligned<T>(items: readonly T[], count: number, index: number): T | undefined {
  if (items.length === 1) return items[0];
  return items.length === count ? items[index] : undefined;
}
