// The fields proxies describe a request's way with: `Forwarded` (RFC 7239)
// and the older X-Forwarded-For / -Proto / -Port, read as hops, the client's
// first and the last proxy's last. Nothing here decides whom to believe
// (real-client.ts does); a value that breaks the grammar gives null.

import { isIpv6, parseIp } from "./cidr.ts";
import { isToken } from "./token.ts";

/** One hop of a request: who connected (absent when unknown or obfuscated), and how. */
export interface Hop {
  /** The address that connected, as text (IPv4, or IPv6 without brackets); absent when not an address. */
  address?: string;
  /** Its port, when given. */
  port?: number;
  /** The scheme it used: RFC 7239 §5.4 `proto`. */
  proto?: "http" | "https";
}

// A value as a token, and also with ":" "[" "]": RFC 7239 §4 wants an IPv6
// node or a port quoted, but proxies configured by hand often leave them bare.
const BARE_VALUE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z:[\]]+$/;
const OWS = /[ \t]/;
// RFC 7239 §6.3: obfuscated node names and ports.
const OBFUSCATED = /^_[A-Za-z0-9._-]+$/;
const PORT = /^\d{1,5}$/;

function portOf(text: string): number | undefined {
  if (!PORT.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function protoOf(text: string): "http" | "https" | undefined {
  const lower = text.toLowerCase();
  return lower === "http" || lower === "https" ? lower : undefined;
}

/**
 * A node (RFC 7239 §6): `192.0.2.43`, `"[2001:db8::1]:4711"`, `unknown`,
 * `_hidden`; or, in X-Forwarded-For, a bare IPv6 address. An address is
 * returned with its port; anything else as a hop with no address.
 */
export function parseNode(text: string): Pick<Hop, "address" | "port"> {
  let host = text;
  let port: number | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return {};
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return {};
    if (rest !== "") port = portOf(rest.slice(1));
    return isIpv6(host) ? { address: host, ...(port === undefined ? {} : { port }) } : {};
  }
  const colon = text.indexOf(":");
  // One colon: an IPv4 address and a port; more: a bare IPv6 address (X-Forwarded-For).
  if (colon >= 0 && colon === text.lastIndexOf(":")) {
    host = text.slice(0, colon);
    port = portOf(text.slice(colon + 1));
    if (host.includes(":") || OBFUSCATED.test(host)) return {};
  }
  if (parseIp(host) === null) return {};
  return { address: host, ...(port === undefined ? {} : { port }) };
}

/**
 * The hops of a `Forwarded` value (RFC 7239 §4): elements separated by ",",
 * pairs by ";", values tokens or quoted strings. Null when the value breaks
 * that grammar or names a parameter twice in one element (§4: a proxy that
 * wrote it cannot be told from a client who did).
 */
export function parseForwarded(value: string): Hop[] | null {
  const hops: Hop[] = [];
  let i = 0;
  const n = value.length;
  const skipOws = () => {
    while (i < n && OWS.test(value[i]!)) i++;
  };
  let hop: Hop = {};
  let seen = new Set<string>();
  let empty = true;
  for (;;) {
    skipOws();
    if (i < n && value[i] !== "," && value[i] !== ";") {
      const eq = value.indexOf("=", i);
      if (eq < 0) return null;
      const name = value.slice(i, eq).toLowerCase();
      if (!isToken(name) || seen.has(name)) return null;
      seen.add(name);
      i = eq + 1;
      let text: string;
      if (value[i] === '"') {
        const quoted = quotedString(value, i);
        if (quoted === null) return null;
        ({ text, end: i } = quoted);
      } else {
        const start = i;
        while (i < n && value[i] !== ";" && value[i] !== "," && !OWS.test(value[i]!)) i++;
        text = value.slice(start, i);
        if (!BARE_VALUE.test(text)) return null;
      }
      if (name === "for") Object.assign(hop, parseNode(text));
      else if (name === "proto") {
        const proto = protoOf(text);
        if (proto) hop.proto = proto;
      }
      empty = false;
      skipOws();
    }
    if (i >= n || value[i] === ",") {
      if (!empty) hops.push(hop);
      if (i >= n) return hops;
      hop = {};
      seen = new Set();
      empty = true;
      i++;
    } else if (value[i] === ";") i++;
    else return null;
  }
}

/**
 * The RFC 9110 §5.6.4 quoted-string whose opening quote is at `start`: its
 * text (quoted-pairs resolved) and the index past its closing quote; null
 * when it is not closed or holds a control character.
 */
function quotedString(value: string, start: number): { text: string; end: number } | null {
  let text = "";
  for (let i = start + 1; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"') return { text, end: i + 1 };
    if (c === "\\") {
      i++;
      if (i >= value.length) return null;
      text += value[i];
    } else if ((c < " " && c !== "\t") || c === "\x7f") return null;
    else text += c;
  }
  return null;
}

/** The comma-separated items of a list field (RFC 9110 §5.6.1), trimmed, empty ones dropped. */
function listItems(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** X-Forwarded-For: each item a node, the client's first. */
export function parseForwardedFor(value: string): Hop[] {
  return listItems(value).map(parseNode);
}

/** X-Forwarded-Proto's items ("https", or "https, http" where proxies append); undefined for one that is neither. */
export function parseForwardedProtos(value: string): ("http" | "https" | undefined)[] {
  return listItems(value).map(protoOf);
}

/** X-Forwarded-Port's items; undefined for one that is no port. */
export function parseForwardedPorts(value: string): (number | undefined)[] {
  return listItems(value).map(portOf);
}
