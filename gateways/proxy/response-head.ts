// Streaming parser for the head of an HTTP/1.1 response from a backend
// (RFC 9112 §4 status line, §5 field lines), strict where a lenient reading
// would let a backend change how the client's connection is framed: every
// line ends in CRLF (a bare LF or CR is refused, §2.2), no obs-fold (§5.2),
// no whitespace between a field name and its colon (§5.1), names are tokens
// and values carry no NUL (RFC 9110 §5.5), the head is bounded in size.
// A bad head is a malformed answer (502), and the connection is not reused.

import { GatewayError } from "../../src/errors.ts";
import { isToken } from "../../src/http/token.ts";

export interface ResponseHead {
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1;
  status: number;
  statusText: string;
  /** Names as the backend wrote them, in order; repeated fields (Set-Cookie) stay separate. */
  headers: [string, string][];
}

const LF = 10;
const CR = 13;
const EMPTY = new Uint8Array(0);

// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ];
// a missing SP before an empty reason is tolerated (many servers omit it).
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9][0-9]{2})(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
// RFC 9110 §5.5: field-value = *field-content, no CTL but HTAB (obs-text allowed).
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Feed it the backend's bytes until `push` returns the head; the bytes that
 * followed it in that chunk come from `takeRest`. One head per parser: a 1xx
 * interim answer is a head too, and the caller starts a new parser (with the
 * rest) for the next one.
 */
export class ResponseHeadParser {
  readonly #maxBytes: number;
  #buf: Uint8Array = EMPTY;
  #len = 0;
  #rest: Uint8Array = EMPTY;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  push(chunk: Uint8Array): ResponseHead | null {
    const start = this.#len;
    this.#append(chunk);
    const buf = this.#buf;
    // Resume one byte back: a CRLF may straddle two pushes.
    for (let lf = buf.indexOf(LF, Math.max(0, start - 1)); lf >= 0 && lf < this.#len; lf = buf.indexOf(LF, lf + 1)) {
      if (lf === 0 || buf[lf - 1] !== CR) throw malformed("a line ends in a bare LF (RFC 9112 §2.2)");
      // The head ends at an empty line: CRLF CRLF.
      if (lf >= 3 && buf[lf - 2] === LF && buf[lf - 3] === CR) {
        const end = lf + 1;
        if (end > this.#maxBytes) throw malformed(`header block over ${this.#maxBytes} bytes`);
        this.#rest = chunk.subarray(chunk.byteLength - (this.#len - end));
        return parseHead(latin1(buf.subarray(0, end - 4)));
      }
    }
    if (this.#len > this.#maxBytes) throw malformed(`header block over ${this.#maxBytes} bytes`);
    return null;
  }

  /** Bytes after the head in the chunk that completed it. */
  takeRest(): Uint8Array {
    const rest = this.#rest;
    this.#rest = EMPTY;
    return rest;
  }

  #append(chunk: Uint8Array): void {
    const needed = this.#len + chunk.byteLength;
    if (needed > this.#buf.byteLength) {
      const grown = new Uint8Array(Math.max(needed, this.#buf.byteLength * 2, 1024));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len = needed;
  }
}

/** The head's lines, CRLF-separated, the final empty line excluded. */
function parseHead(text: string): ResponseHead {
  const lines = text.split("\r\n");
  const statusLine = lines[0]!;
  if (statusLine.includes("\r")) throw malformed("a bare CR in the status line");
  const status = STATUS_LINE.exec(statusLine);
  if (status === null) throw malformed(`bad status line ${quote(statusLine)}`);
  const headers: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    // RFC 9112 §5.2: obs-fold is refused rather than unfolded.
    if (line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) throw malformed("obs-fold (a line starting with whitespace)");
    const colon = line.indexOf(":");
    if (colon <= 0) throw malformed(`field line without a name and ":": ${quote(line)}`);
    const name = line.slice(0, colon);
    // RFC 9112 §5.1: no whitespace between the name and the colon; RFC 9110 §5.1: a token.
    if (!isToken(name)) throw malformed(`bad field name ${quote(name)}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (BAD_VALUE.test(value)) throw malformed(`a control character in the value of ${quote(name)}`);
    headers.push([name, value]);
  }
  return { minor: status[1] === "0" ? 0 : 1, status: Number(status[2]), statusText: status[3] ?? "", headers };
}

// Field bytes are octets (RFC 9110 §5.5 obs-text): one byte, one char.
function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.byteLength; i += 8192) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[]);
  return text;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}...` : text);
}

export function malformed(detail: string): GatewayError {
  return new GatewayError("BACKEND_MALFORMED", `HTTP response: ${detail}`);
}
