// The authority a request names, checked before anything is built from it:
// the Host field (RFC 9110 §7.2: uri-host [ ":" port ]) and the authority of
// an absolute-form target (RFC 9112 §3.2.2), in RFC 3986 §3.2.2's grammar.
// A server that pastes an unchecked Host into its request URL lets the
// client pick the path ("Host: a/cgi-bin/x?" on Deno) and puts any bytes
// into SERVER_NAME.

import { isIpv4, isIpv6 } from "./cidr.ts";

// reg-name = *( unreserved / pct-encoded / sub-delims ), less two:
// "," because a runtime that joined two Host lines shows "a, b" (RFC 9110
// §5.3), and "%" because a Fetch URL decodes it, which would give one host
// two spellings.
const REG_NAME = /^[A-Za-z0-9\-._~!$&'()*+;=]+$/;
const PORT = /^[0-9]{0,5}$/;

// A server's clients name it the same way request after request: the last
// authority found good is remembered, so the usual Host costs one comparison.
let lastGood: string | undefined;

/** True when `value` is host[:port] with a non-empty host (RFC 9110 §4.2.1: an http URI's host is never empty). */
export function isAuthority(value: string): boolean {
  if (value === lastGood) return true;
  if (!checkAuthority(value)) return false;
  lastGood = value;
  return true;
}

function checkAuthority(value: string): boolean {
  let hostEnd: number;
  if (value.charCodeAt(0) === 91 /* "[" */) {
    // IP-literal; IPvFuture and zone identifiers name nothing a server listens on.
    hostEnd = value.indexOf("]") + 1;
    if (hostEnd === 0 || !isIpv6(value.slice(1, hostEnd - 1))) return false;
  } else {
    const colon = value.indexOf(":");
    hostEnd = colon < 0 ? value.length : colon;
    const name = value.slice(0, hostEnd);
    if (!REG_NAME.test(name) || !spelledAsInUrls(name)) return false;
  }
  if (hostEnd === value.length) return true;
  const port = value.slice(hostEnd + 1);
  return value.charCodeAt(hostEnd) === 58 /* ":" */ && PORT.test(port) && Number(port) <= 65535;
}

// WHATWG URL host parsing, which builds every Fetch Request's URL, reads a
// name whose last label is a number as IPv4 ("a.1" fails: a 500; "0x7f.1"
// becomes 127.0.0.1) and decodes "xn--" labels as Punycode ("xn--" fails).
const NUMERIC_LAST_LABEL = /(?:^|\.)(?:[0-9]+|0[xX][0-9A-Fa-f]*)\.?$/;
const PUNYCODE_LABEL = /(?:^|\.)xn--/i;
// An "xn--" label whose Punycode has no deltas (nothing, or basic code points
// and the "-" delimiter: RFC 3492 §3.1) decodes to an empty or all-ASCII
// label, an error in UTS #46 §4 Processing step 4 (Unicode 15.1 on), so in
// URL host parsing. Deno's and Bun's parsers refuse such labels, Node's do
// not all ("xn--ab-" on Node 20 to 26, "xn--" too from 24): it is checked
// here, the same everywhere.
const EMPTY_PUNYCODE_LABEL = /(?:^|\.)xn--(?:[A-Za-z0-9-]*-)?(?:\.|$)/i;

/** True when a URL built from the reg-name `name` has it as its host, as written but for case. */
function spelledAsInUrls(name: string): boolean {
  if (!NUMERIC_LAST_LABEL.test(name) && !PUNYCODE_LABEL.test(name)) return true;
  if (EMPTY_PUNYCODE_LABEL.test(name)) return false;
  if (isIpv4(name)) return true; // RFC 3986 IPv4address, the usual case
  try {
    return new URL(`http://${name}/`).hostname === name.toLowerCase();
  } catch {
    return false;
  }
}

/** The authority of an absolute-form target ("http://a:1/x" -> "a:1"); undefined for any other form or scheme. */
export function targetAuthority(target: string): string | undefined {
  // The usual origin-form ("/x") is told at its first byte, not by a scan of the whole target.
  if (target.charCodeAt(0) === 47 /* "/" */) return undefined;
  const scheme = target.indexOf("://");
  if (scheme < 0 || !/^https?$/i.test(target.slice(0, scheme))) return undefined;
  const start = scheme + 3;
  let end = start;
  while (end < target.length && target[end] !== "/" && target[end] !== "?" && target[end] !== "#") end++;
  return target.slice(start, end);
}
