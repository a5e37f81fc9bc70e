// The fields a proxied request carries to its backend: the client's, less the
// hop-by-hop ones (RFC 9110 §7.6.1: Connection and the fields it names,
// Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade but on an upgrade,
// Proxy-Connection), less `Proxy` (httpoxy, CVE-2016-5385) and the other
// Proxy-* fields meant for a proxy, and Expect (the body is in hand: the
// backend has no 100 Continue to send); with this hop's Forwarded (RFC 7239)
// and X-Forwarded-For / -Proto / -Host. Those are appended to what a trusted
// proxy sent (gateways/trusted-proxies.ts believed its chain), and replace
// whatever a client sent itself, which no one should believe.

import type { ConnInfo } from "../../src/cgi/conn.ts";

// The hop-by-hop fields, and those this hop writes itself (Host, Content-Length) or answers (Expect).
const NOT_PASSED = new Set(["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection", "expect", "host", "content-length"]);
// Set by forwardingFields, from what a trusted proxy sent or anew.
const FORWARDING = new Set(["forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"]);

export interface HopFacts {
  /** Who connected to postern: the client itself, or the trusted proxy it came through. */
  peer: ConnInfo;
  /** The peer is a trusted proxy whose forwarding fields were believed: they are kept and this hop appended. */
  believed: boolean;
  /** The Host sent to the backend. */
  host: string;
  /** The Host the client sent, which X-Forwarded-Host and Forwarded's host= name. */
  clientHost: string;
  /** The Upgrade passed on (with `Connection: upgrade`) on an upgrade route: websocket, whatever else the client listed. */
  upgrade?: string;
  /** The upgrade is relayed message by message: the client's Sec-WebSocket-Extensions is not passed on. */
  noExtensions?: boolean;
  /** The body's length, when it has one. */
  contentLength?: string;
}

/** The field lines for the backend, Host first. */
export function backendHeaders(incoming: Headers, hop: HopFacts): [string, string][] {
  const named = connectionOptions(incoming.get("connection"));
  const out: [string, string][] = [["host", hop.host]];
  for (const [name, value] of incoming) {
    if (NOT_PASSED.has(name) || named.has(name) || name === "proxy" || name.startsWith("proxy-") || FORWARDING.has(name)) continue;
    if (hop.noExtensions && name === "sec-websocket-extensions") continue;
    out.push([name, value]);
  }
  if (hop.contentLength !== undefined) out.push(["content-length", hop.contentLength]);
  if (hop.upgrade !== undefined) out.push(["connection", "upgrade"], ["upgrade", hop.upgrade]);
  out.push(...forwardingFields(incoming, hop));
  return out;
}

/** RFC 9110 §7.6.1: connection-option = token, the names of fields for this hop only. */
function connectionOptions(value: string | null): Set<string> {
  const names = new Set<string>();
  for (const option of value?.split(",") ?? []) {
    const name = option.trim().toLowerCase();
    if (name !== "") names.add(name);
  }
  return names;
}

function forwardingFields(incoming: Headers, hop: HopFacts): [string, string][] {
  const scheme = hop.peer.tls ? "https" : "http";
  const address = hop.peer.remoteAddress;
  const kept = (name: string) => (hop.believed ? incoming.get(name) : null);
  const appended = (name: string, value: string) => {
    const before = kept(name);
    return before === null ? value : `${before}, ${value}`;
  };
  // RFC 7239 §5.2, §5.3, §5.4: this hop's element.
  const element = `for=${forwardedNode(address)};host=${quotedIfNeeded(hop.clientHost)};proto=${scheme}`;
  return [
    ["forwarded", appended("forwarded", element)],
    ["x-forwarded-for", appended("x-forwarded-for", address === "" ? "unknown" : address)],
    // One value each, the client's: a trusted proxy's is kept (it saw the client), ours set otherwise.
    ["x-forwarded-proto", kept("x-forwarded-proto") ?? scheme],
    ["x-forwarded-host", kept("x-forwarded-host") ?? hop.clientHost],
  ];
}

/** RFC 7239 §6: an IPv6 node is quoted in brackets; an unknown one (a unix socket) is "unknown". */
function forwardedNode(address: string): string {
  if (address === "") return "unknown";
  return address.includes(":") ? `"[${address}]"` : address;
}

/** RFC 7239 §4: value = token / quoted-string; a host with a port is no token. */
function quotedIfNeeded(value: string): string {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value) ? value : `"${value.replace(/["\\]/g, "\\$&")}"`;
}
