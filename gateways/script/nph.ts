// Non-parsed-header scripts (RFC 3875 §5): their output is a whole HTTP
// response, status line first. postern still checks it before it reaches the
// client — the status line, then the header fields with the same rules as any
// CGI head (src/cgi/response.ts StatusLineParser) — and frames the response
// itself as for any CGI answer (src/cgi/framing.ts): a Content-Length is
// checked and enforced, and a transfer-coded body is refused, since passing
// its coding on as content would hand the client the script's framing.

import { StatusLineParser } from "../../src/cgi/response.ts";

/** Same contract as CgiResponseParser: push until the head, then takeRest. */
export class NphResponseParser extends StatusLineParser {
  constructor(options: { maxHeaderBytes: number }) {
    super({ ...options, statusLine: "required" });
  }
}
