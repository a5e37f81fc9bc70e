// Streaming parser for the head of a CGI response (RFC 3875 §6): the header
// lines a script writes before the blank line, and the kind of response they
// make (§6.2). Shared by every gateway whose backend answers in CGI's output
// format (CGI and WASI stdout, FastCGI FCGI_STDOUT, SCGI, uwsgi); and the
// same head opened by an HTTP status line (RFC 9112 §4), as an NPH script
// (RFC 3875 §5) and uWSGI (`HTTP/1.1 200 OK` on its uwsgi and SCGI sockets)
// write it.

import { GatewayError } from "../errors.ts";
import { isToken } from "../http/token.ts";

export interface CgiHead {
  status: number;
  statusText: string;
  /** In order, Status removed, names as the script wrote them; repeated fields (Set-Cookie) stay separate. */
  headers: [string, string][];
  kind: "document" | "local-redirect" | "client-redirect";
  location?: string;
}

const LF = 10;
const CR = 13;
const EMPTY = new Uint8Array(0);

/** What a gateway reads a backend's head with: push until the head, then takeRest (see CgiResponseParser). */
export interface HeadParser {
  push(chunk: Uint8Array): CgiHead | null;
  takeRest(): Uint8Array;
  finish(): void;
}

/**
 * Feed it stdout until `push` returns the head; the bytes after the blank line
 * in that chunk come from `takeRest`, and every later chunk is body that the
 * caller handles itself: `push` must not be called once the head is returned.
 * Body bytes are subarrays of the caller's chunks, never copies.
 */
export class CgiResponseParser implements HeadParser {
  readonly #maxHeaderBytes: number;
  // Head bytes of earlier pushes, only used when the head spans pushes.
  #buf: Uint8Array = EMPTY;
  #len = 0;
  // Offset in the head of the line being read, to spot the blank line.
  #lineStart = 0;
  #done = false;
  #rest: Uint8Array = EMPTY;

  constructor(options?: { maxHeaderBytes?: number }) {
    this.#maxHeaderBytes = options?.maxHeaderBytes ?? 65536;
  }

  /** Feeds stdout bytes; returns the head when the blank line is reached (once), else null. */
  push(chunk: Uint8Array): CgiHead | null {
    if (this.#done) throw new GatewayError("INTERNAL", "CgiResponseParser.push called after the head");
    const len = this.#len;
    // §6.3: every line ends in NL, LF or CRLF; the head ends at an empty line.
    for (let lf = chunk.indexOf(LF); lf >= 0; lf = chunk.indexOf(LF, lf + 1)) {
      // The blank line is at or after this LF: past the limit here is past it for good.
      if (len + lf + 1 > this.#maxHeaderBytes) throw tooLarge(this.#maxHeaderBytes);
      const lineLength = len + lf - this.#lineStart;
      if (lineLength === 0 || (lineLength === 1 && this.#byteAt(this.#lineStart, chunk) === CR)) {
        const end = lf + 1;
        const text = len === 0 ? latin1(chunk, 0, end) : latin1(this.#buf, 0, len) + latin1(chunk, 0, end);
        this.#done = true;
        this.#buf = EMPTY;
        this.#rest = chunk.subarray(end);
        return parseHead(text);
      }
      this.#lineStart = len + lf + 1;
    }
    if (len + chunk.length > this.#maxHeaderBytes) throw tooLarge(this.#maxHeaderBytes);
    this.#append(chunk);
    return null;
  }

  /** Body bytes that followed the blank line in the chunk that completed the head (empty if none). */
  takeRest(): Uint8Array {
    const rest = this.#rest;
    this.#rest = EMPTY;
    return rest;
  }

  /** End of stdout: throws BACKEND_MALFORMED when the head never completed. */
  finish(): void {
    if (this.#done) return;
    // §6.2: every response is header fields, a blank line, then the body.
    throw malformed(this.#len === 0 ? "empty response" : "end of output before the blank line ending the head");
  }

  #byteAt(offset: number, chunk: Uint8Array): number {
    return offset < this.#len ? this.#buf[offset]! : chunk[offset - this.#len]!;
  }

  #append(chunk: Uint8Array): void {
    const needed = this.#len + chunk.length;
    if (needed > this.#buf.length) {
      const grown = new Uint8Array(Math.min(Math.max(needed, this.#buf.length * 2, 1024), this.#maxHeaderBytes));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len = needed;
  }
}

// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
const STATUS_LINE = /^HTTP\/1\.[01] ([1-5][0-9]{2})(?: ([\t\x20-\x7e\x80-\xff]*))?\r?$/;
const HTTP_NAME = "HTTP/";
const MAX_STATUS_LINE = 1024;

/**
 * A head opened by an HTTP status line, then header fields read by the CGI
 * rules above. `statusLine: "required"` (NPH scripts) refuses a head without
 * one; "optional" (uWSGI, SCGI backends) reads a head whose first bytes are
 * not "HTTP/" as a CGI head: no CGI field name can start so, "/" is no token
 * character (RFC 9110 §5.6.2). Same contract as CgiResponseParser.
 */
export class StatusLineParser implements HeadParser {
  readonly #fields: CgiResponseParser;
  readonly #optional: boolean;
  #line = "";
  /** Undefined until the first bytes tell; "cgi": no status line. */
  #status: { code: number; text: string } | "cgi" | undefined;

  constructor(options: { maxHeaderBytes: number; statusLine: "required" | "optional" }) {
    this.#fields = new CgiResponseParser(options);
    this.#optional = options.statusLine === "optional";
  }

  push(chunk: Uint8Array): CgiHead | null {
    if (this.#status === "cgi") return this.#fields.push(chunk);
    if (this.#status) return this.#withStatus(this.#fields.push(chunk));
    const lf = chunk.indexOf(LF);
    // At most MAX_STATUS_LINE bytes per push: the spread below puts each byte on the stack.
    this.#line += String.fromCharCode(...chunk.subarray(0, Math.min(lf < 0 ? chunk.length : lf, MAX_STATUS_LINE)));
    if (this.#optional && !this.#line.startsWith(HTTP_NAME) && !HTTP_NAME.startsWith(this.#line)) return this.#asCgi(chunk);
    if (this.#line.length >= MAX_STATUS_LINE) throw malformed("status line too long");
    if (lf < 0) return null;
    const match = STATUS_LINE.exec(this.#line);
    if (!match) throw malformed(`bad status line ${quote(this.#line)}`);
    this.#status = { code: Number(match[1]), text: match[2] ?? "" };
    return this.#withStatus(this.#fields.push(chunk.subarray(lf + 1)));
  }

  takeRest(): Uint8Array {
    return this.#fields.takeRest();
  }

  finish(): void {
    if (this.#status === undefined && !(this.#optional && this.#line === "")) throw malformed("end of output before the status line");
    this.#fields.finish();
  }

  /** Not a status line: the bytes held so far (all of this chunk's line, up to its LF) begin a CGI head. */
  #asCgi(chunk: Uint8Array): CgiHead | null {
    this.#status = "cgi";
    const lf = chunk.indexOf(LF);
    const held = this.#line.length - (lf < 0 ? Math.min(chunk.length, MAX_STATUS_LINE) : Math.min(lf, MAX_STATUS_LINE));
    this.#line = "";
    // A prefix of "HTTP/" held from earlier pushes: no line end in it, so no head yet.
    if (held > 0) this.#fields.push(Uint8Array.from(HTTP_NAME.slice(0, held), (c) => c.charCodeAt(0)));
    return this.#fields.push(chunk);
  }

  #withStatus(head: CgiHead | null): CgiHead | null {
    if (!head || typeof this.#status !== "object") return head;
    // RFC 9112 §6.1: the body would be transfer-coded (chunked), not content.
    if (head.headers.some(([name]) => name.toLowerCase() === "transfer-encoding")) throw malformed("Transfer-Encoding in the head");
    // The status line decides; Location is passed on as written.
    return { ...head, status: this.#status.code, statusText: this.#status.text, kind: "document" };
  }
}

// Header bytes are octets (RFC 9110 §5.5 obs-text): one byte is one char, as
// Headers' ByteStrings hold them. TextDecoder("latin1") is windows-1252, so no.
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i += 8192) {
    const part = bytes.subarray(i, Math.min(i + 8192, end));
    text += String.fromCharCode.apply(null, part as unknown as number[]);
  }
  return text;
}

const BAD_VALUE = /[\r\x00]/; // RFC 9110 §5.5; a bare CR would split the response (CWE-113)
// RFC 3875 §6.3.3: status-code [SP reason-phrase]; RFC 9112 §4: reason-phrase = *( HTAB / SP / VCHAR / obs-text ),
// no other control character (a Fetch Response refuses one with a TypeError).
const STATUS_VALUE = /^([1-5][0-9][0-9])(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/; // RFC 3986 §3.1, the start of an absoluteURI

// The CGI fields (§6.3), as bits: each may appear at most once.
const STATUS = 1;
const LOCATION = 2;
const CONTENT_TYPE = 4;

/** Parses a complete head, blank line included. */
function parseHead(text: string): CgiHead {
  const headers: [string, string][] = [];
  let seen = 0;
  let status: RegExpExecArray | null = null;
  let location: string | undefined;
  for (let start = 0; ; ) {
    const lf = text.indexOf("\n", start);
    const end = lf > start && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
    if (end === start) break; // the blank line
    const colon = text.indexOf(":", start);
    if (colon < 0 || colon >= end) throw malformed(`header line without ":": ${quote(text.slice(start, end))}`);
    const name = text.slice(start, colon);
    // Leading whitespace (obs-fold, continuation lines: RFC 3875 §6.3, RFC 9112
    // §5.2) and whitespace before ":" (RFC 9112 §5.1) fail this too.
    // RFC 9110 §5.1: field-name = token.
    if (!isToken(name)) throw malformed(`bad header name ${quote(name)}`);
    const value = trimmed(text, colon + 1, end);
    if (BAD_VALUE.test(value)) throw malformed(`CR or NUL in the value of ${quote(name)}`);
    start = lf + 1;

    const field = cgiField(name);
    if (field !== 0) {
      if (value === "") continue; // §6.3: a NULL field value is a field not sent
      if ((seen & field) !== 0) throw malformed(`${quote(name)} appears twice`); // §6.3: at most once
      seen |= field;
      if (field === STATUS) {
        status = STATUS_VALUE.exec(value);
        if (status === null) throw malformed(`bad Status ${quote(value)}`);
        continue; // §6.3.3: for the server, not the client
      }
      if (field === LOCATION) location = value;
    }
    headers.push([name, value]);
  }

  if (status !== null) {
    const code = Number(status[1]);
    // §6.2.4: a client redirect with a document needs an absolute URI and a 3xx.
    const redirect = location !== undefined && code >= 300 && code < 400 && SCHEME.test(location);
    return head(code, status[2] ?? "", headers, redirect ? "client-redirect" : "document", location);
  }
  if (location !== undefined) {
    // §6.2.2: a local path ("/x", not "//host"), and no other field, asks the
    // server to serve that URI instead. With other fields (a Set-Cookie) it is
    // for the client, so that none of them is lost.
    if (headers.length === 1 && location.charCodeAt(0) === 47 && location.charCodeAt(1) !== 47) {
      return head(200, "OK", headers, "local-redirect", location);
    }
    // §6.2.3: anything else is for the client (RFC 9110 §10.2.2 allows relative references).
    return head(302, "Found", headers, "client-redirect", location);
  }
  return head(200, "OK", headers, "document", undefined); // §6.2.1, §6.3.3: Status defaults to 200
}

function head(
  status: number,
  statusText: string,
  headers: [string, string][],
  kind: CgiHead["kind"],
  location: string | undefined,
): CgiHead {
  return location === undefined ? { status, statusText, headers, kind } : { status, statusText, headers, kind, location };
}

function cgiField(name: string): number {
  const n = name.length;
  if (n !== 6 && n !== 8 && n !== 12) return 0;
  const lower = name.toLowerCase(); // §6.3: field names are not case sensitive
  return lower === "status" ? STATUS : lower === "location" ? LOCATION : lower === "content-type" ? CONTENT_TYPE : 0;
}

/** text[start, end) without surrounding SP and HTAB (RFC 9110 §5.5 OWS); not String.trim, which eats NBSP. */
function trimmed(text: string, start: number, end: number): string {
  while (start < end && isBlank(text.charCodeAt(start))) start++;
  while (end > start && isBlank(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? text.slice(0, 64) + "..." : text);
}

function malformed(detail: string): GatewayError {
  return new GatewayError("BACKEND_MALFORMED", `CGI response: ${detail}`);
}

function tooLarge(limit: number): GatewayError {
  return malformed(`header block over ${limit} bytes`);
}
