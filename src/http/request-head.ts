// Checks on an HTTP/1.x request head that a permissive parser lets through
// (RFC 9112 "HTTP/1.1" and RFC 9110 "HTTP Semantics"): framing that two
// parsers could read two ways (request smuggling), singleton fields sent
// twice, and the size limits of DESIGN.md. Pure and runtime-free: the
// runtime hands over what its parser produced, before the app sees anything.
//
// Cost: one pass over the field lines; names are matched by length first, so
// a typical field costs two length reads and one comparison; no regex.

import { DEFAULT_CLIENT_LIMITS, type ClientLimits } from "../client-limits.ts";
import { isAuthority, targetAuthority } from "./authority.ts";

/** The request line and field lines as a parser gives them (Node's `rawHeaders`: name, value, name, value, ...). */
export interface RequestHead {
  method: string;
  /** The request-target exactly as sent (Node's `req.url`). */
  target: string;
  /** "1.1", "1.0", ... (Node's `req.httpVersion`). */
  httpVersion: string;
  rawHeaders: readonly string[];
}

/** The `[client]` limits a request head is checked against (src/client-limits.ts); those left out are at their defaults. */
export type RequestHeadLimits = Partial<Pick<ClientLimits, "maxRequestLine" | "maxHeaderSize" | "maxHeaders" | "maxHeaderBytes">>;

export interface Refusal {
  status: number;
  /** Which rule the request broke, for logs and tests; never needed by the client. */
  detail: string;
}

function refuse(status: number, detail: string): Refusal {
  return { status, detail };
}

/** Case-insensitive name match; callers compare lengths first, so this runs only on a likely hit, and the usual spellings cost no allocation. */
function isName(name: string, lower: string, canonical: string): boolean {
  return name === canonical || name === lower || name.toLowerCase() === lower;
}

/** Returns why the request must be refused, or undefined when it may go to the app. */
export function checkRequestHead(head: RequestHead, limits?: RequestHeadLimits): Refusal | undefined {
  const { method, target, httpVersion, rawHeaders } = head;

  // RFC 9112 §2.3: this server speaks HTTP/1.0 and HTTP/1.1 only. Gunicorn
  // answers 400 for any other version (corpus version_02: HTTP/2.0), not 505.
  if (httpVersion !== "1.1" && httpVersion !== "1.0") return refuse(400, `HTTP/${httpVersion} in the request line`);

  // RFC 9112 §3: a request-target longer than the server will parse -> 414.
  // The line is method SP request-target SP "HTTP/x.y" (8 bytes).
  const lineBytes = method.length + target.length + 10;
  if (lineBytes > (limits?.maxRequestLine ?? DEFAULT_CLIENT_LIMITS.maxRequestLine)) return refuse(414, "request line over the limit");

  // RFC 9110 §9.3.6: CONNECT asks for a tunnel; postern is not a forward proxy.
  if (method === "CONNECT") return refuse(501, "CONNECT");

  if (target.charCodeAt(0) !== 47 /* "/" */) {
    // RFC 9112 §3.2.4: the asterisk-form is only for a server-wide OPTIONS.
    if (target === "*" && method !== "OPTIONS") return refuse(400, `asterisk-form target with ${method}`);
    // RFC 9110 §4.2.4: userinfo in an http(s) URI is to be treated as an
    // error (it disguises the authority); a Fetch Request cannot carry it.
    if (hasUserinfo(target)) return refuse(400, "userinfo in the request-target");
    // RFC 9112 §3.2.2: the authority of an absolute-form target is the request's host.
    const authority = targetAuthority(target);
    if (target !== "*" && (authority === undefined || !isAuthority(authority))) return refuse(400, "the request-target's authority is not host[:port]");
  }

  // DESIGN.md limits: header section field count (431, RFC 6585 §5).
  const length = rawHeaders.length;
  if (length > (limits?.maxHeaders ?? DEFAULT_CLIENT_LIMITS.maxHeaders) * 2) return refuse(431, "too many header fields");

  const maxFieldBytes = limits?.maxHeaderSize ?? DEFAULT_CLIENT_LIMITS.maxHeaderSize;
  // The whole head as sent: request line, field lines, the empty line (CRLF
  // each). A runtime's parser may count it otherwise (Node leaves out the
  // method, version and CRLFs); this count is the one every runtime shares.
  let headBytes = lineBytes + 4;
  let hosts = 0;
  let host: string | undefined;
  let contentTypes = 0;
  let contentType: string | undefined;
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  for (let i = 0; i < length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    // `name: value` CRLF, as Gunicorn counts a field line (431, RFC 6585 §5).
    const fieldBytes = name.length + value.length + 4;
    if (fieldBytes > maxFieldBytes) return refuse(431, `field ${name} over the limit`);
    headBytes += fieldBytes;
    switch (name.length) {
      case 6:
        // RFC 9110 §10.1.1: 100-continue is the only expectation; any other -> 417.
        if (isName(name, "expect", "Expect") && trimOWS(value).toLowerCase() !== "100-continue") return refuse(417, `Expect: ${value}`);
        break;
      case 4:
        if (isName(name, "host", "Host")) {
          hosts++;
          host = value;
        }
        break;
      case 12:
        if (isName(name, "content-type", "Content-Type")) {
          contentTypes++;
          contentType = value;
        }
        break;
      case 14:
        if (isName(name, "content-length", "Content-Length")) {
          // RFC 9110 §8.6: Content-Length = 1*DIGIT; several lines with
          // different values make the body length unknowable.
          if (!isDigits(value)) return refuse(400, "Content-Length is not a number");
          if (contentLength !== undefined && contentLength !== value) return refuse(400, "Content-Length given twice, differently");
          contentLength = value;
        }
        break;
      case 17:
        if (isName(name, "transfer-encoding", "Transfer-Encoding")) transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
        break;
    }
  }

  if (headBytes > (limits?.maxHeaderBytes ?? DEFAULT_CLIENT_LIMITS.maxHeaderBytes)) return refuse(431, "header section over the limit");

  // RFC 9112 §3.2: an HTTP/1.1 request without Host, or any request with
  // more than one Host line, is answered 400.
  if (hosts > 1) return refuse(400, "more than one Host");
  if (hosts === 0 && httpVersion === "1.1") return refuse(400, "HTTP/1.1 request without Host");
  // RFC 9110 §7.2 and RFC 3986 §3.2.2: uri-host [ ":" port ], nothing else
  // (a "/" would move the path of a URL built from it, a "," says two Host
  // lines were joined).
  if (host !== undefined && !isAuthority(host)) return refuse(400, "Host is not host[:port]");
  // RFC 9110 §5.3 and §8.3: Content-Type is a singleton field; two lines
  // cannot be combined into one media type.
  if (contentTypes > 1) return refuse(400, "more than one Content-Type");
  // A media type has no comma outside a quoted string (RFC 9110 §8.3.1): one
  // there is two Content-Type lines a runtime's parser joined (RFC 9110 §5.3).
  if (contentType !== undefined && contentType.includes(",") && hasUnquotedComma(contentType)) return refuse(400, "Content-Type holds a list");

  if (transferEncoding !== undefined) {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
    if (httpVersion === "1.0") return refuse(400, "Transfer-Encoding in an HTTP/1.0 request");
    // RFC 9112 §6.1 and §6.3 (request smuggling): with both, the two framings
    // can disagree; the server MAY reject, and a gateway must.
    if (contentLength !== undefined) return refuse(400, "both Content-Length and Transfer-Encoding");
    return checkTransferCodings(transferEncoding);
  }
  return undefined;
}

/**
 * The Transfer-Encoding list: chunked, once and last (RFC 9112 §6.3), and
 * nothing else. A coding under it (gzip, deflate, identity) is one postern
 * does not decode, and a backend would get the body still coded: 501, as
 * lighttpd answers (RFC 9112 §6.1).
 */
function checkTransferCodings(list: string): Refusal | undefined {
  const codings: string[] = [];
  for (const element of list.split(",")) {
    const coding = trimOWS(element).toLowerCase();
    if (coding !== "") codings.push(coding); // RFC 9110 §5.6.1: empty list elements are ignored
  }
  if (codings.length === 0) return refuse(400, "empty Transfer-Encoding");
  // RFC 9112 §6.3: a request whose final coding is not chunked has no
  // knowable length: 400, and the connection is closed.
  if (codings[codings.length - 1] !== "chunked") return refuse(400, "chunked is not the final transfer coding");
  // RFC 9112 §7: chunked is never applied twice.
  if (codings.indexOf("chunked") !== codings.length - 1) return refuse(400, "chunked applied twice");
  if (codings.length > 1) return refuse(501, `transfer coding ${codings[0]}`);
  return undefined;
}

/**
 * Trailer fields (RFC 9112 §7.1.2) that would change how the message is
 * framed or routed if anyone merged them into the header section: a sender
 * MUST NOT send them (RFC 9110 §6.5.1). Gunicorn refuses them with 400.
 */
export function checkTrailers(rawTrailers: readonly string[]): Refusal | undefined {
  for (let i = 0; i < rawTrailers.length; i += 2) {
    const name = rawTrailers[i]!;
    if (
      (name.length === 4 && isName(name, "host", "Host")) ||
      (name.length === 14 && isName(name, "content-length", "Content-Length")) ||
      (name.length === 17 && isName(name, "transfer-encoding", "Transfer-Encoding"))
    ) {
      return refuse(400, `${name} in the trailer section`);
    }
  }
  return undefined;
}

/** A "," outside every quoted-string (RFC 9110 §5.6.4: a backslash escapes the next character). */
function hasUnquotedComma(value: string): boolean {
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted && c === 92 /* backslash */) i++;
    else if (c === 34 /* '"' */) quoted = !quoted;
    else if (c === 44 /* "," */ && !quoted) return true;
  }
  return false;
}

// RFC 9110 §9.1 method = token; as Node's and Bun's parsers (and Gunicorn)
// take them: upper-case letters, "-" and "_" (WebDAV's VERSION-CONTROL).
const METHOD = /^[A-Z][A-Z_-]*$/;
// RFC 9110 §5.5: a field value holds no control character but HTAB.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * What Node's parser refuses and Deno's or Bun's lets through, as far as a
 * Fetch Request still shows it: an odd method, control characters in a
 * field value. Node's server needs no such pass.
 */
export function checkTokens(method: string, rawHeaders: readonly string[]): Refusal | undefined {
  if (!METHOD.test(method)) return refuse(400, `method ${JSON.stringify(method)}`);
  for (let i = 1; i < rawHeaders.length; i += 2) {
    if (CONTROL.test(rawHeaders[i]!)) return refuse(400, `a control character in ${rawHeaders[i - 1]}`);
  }
  return undefined;
}

function isDigits(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Strips OWS (SP and HTAB, RFC 9110 §5.6.3) from both ends. */
function trimOWS(text: string): string {
  let from = 0;
  let to = text.length;
  while (from < to && (text.charCodeAt(from) === 32 || text.charCodeAt(from) === 9)) from++;
  while (to > from && (text.charCodeAt(to - 1) === 32 || text.charCodeAt(to - 1) === 9)) to--;
  return text.slice(from, to);
}

/** An absolute-form target whose authority has `userinfo@` (RFC 3986 §3.2). */
function hasUserinfo(target: string): boolean {
  const slashes = target.indexOf("//");
  if (slashes < 0) return false;
  for (let i = slashes + 2; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 64 /* "@" */) return true;
    if (c === 47 /* "/" */ || c === 63 /* "?" */ || c === 35 /* "#" */) return false;
  }
  return false;
}
