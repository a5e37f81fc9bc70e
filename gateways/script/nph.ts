// Non-parsed-header scripts (RFC 3875 §5): their output is a whole HTTP
// response, status line first. postern still checks it before it reaches the
// client — the status line, then the header fields with the same rules as any
// CGI head — and frames the response itself as for any CGI answer
// (src/cgi/framing.ts): a Content-Length is checked and enforced, and a
// transfer-coded body is refused, since passing its coding on as content
// would hand the client the script's framing.

import { CgiResponseParser, type CgiHead } from "../../src/cgi/response.ts";
import { GatewayError } from "../../src/errors.ts";

// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
const STATUS_LINE = /^HTTP\/1\.[01] ([1-5][0-9]{2})(?: ([\t\x20-\x7e\x80-\xff]*))?\r?$/;
const LF = 10;
const MAX_STATUS_LINE = 1024;

/** Same contract as CgiResponseParser: push until the head, then takeRest. */
export class NphResponseParser {
  readonly #fields: CgiResponseParser;
  #line = "";
  #status: { code: number; text: string } | undefined;

  constructor(options: { maxHeaderBytes: number }) {
    this.#fields = new CgiResponseParser(options);
  }

  push(chunk: Uint8Array): CgiHead | null {
    if (this.#status) return this.#withStatus(this.#fields.push(chunk));
    const lf = chunk.indexOf(LF);
    // At most MAX_STATUS_LINE bytes per push: the spread below puts each byte on the stack.
    this.#line += String.fromCharCode(...chunk.subarray(0, Math.min(lf < 0 ? chunk.length : lf, MAX_STATUS_LINE)));
    if (this.#line.length >= MAX_STATUS_LINE) throw malformed("status line too long");
    if (lf < 0) return null;
    const match = STATUS_LINE.exec(this.#line);
    if (!match) throw malformed(`bad status line ${JSON.stringify(this.#line.slice(0, 80))}`);
    this.#status = { code: Number(match[1]), text: match[2] ?? "" };
    return this.#withStatus(this.#fields.push(chunk.subarray(lf + 1)));
  }

  takeRest(): Uint8Array {
    return this.#fields.takeRest();
  }

  finish(): void {
    if (!this.#status) throw malformed("end of output before the status line");
    this.#fields.finish();
  }

  #withStatus(head: CgiHead | null): CgiHead | null {
    if (!head) return null;
    // RFC 9112 §6.1: the body would be transfer-coded (chunked), not content.
    if (head.headers.some(([name]) => name.toLowerCase() === "transfer-encoding")) throw malformed("Transfer-Encoding in the head");
    // The status line decides; Location is passed on as written.
    return { ...head, status: this.#status!.code, statusText: this.#status!.text, kind: "document" };
  }
}

function malformed(detail: string): GatewayError {
  return new GatewayError("BACKEND_MALFORMED", `NPH script: ${detail}`);
}
