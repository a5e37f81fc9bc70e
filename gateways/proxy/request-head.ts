// The head of an HTTP/1.1 request to a backend (RFC 9112 §3 request line,
// §5 field lines), written as bytes. Field values are ByteStrings (one char,
// one octet, as Headers holds them): written as Latin-1, never re-encoded as
// UTF-8. Nothing that could split the head (CR, LF, NUL) is ever written.

import { GatewayError } from "../../src/errors.ts";
import { isToken } from "../../src/http/token.ts";

// RFC 9112 §3.2: origin-form, no whitespace or control characters.
const TARGET = /^\/[\x21-\x7e\x80-\xff]*$/;
const BAD_VALUE = /[\r\n\x00]/;

/** `METHOD target HTTP/1.1` CRLF, each field line CRLF, and the empty line. Throws BAD_REQUEST on what cannot be written safely. */
export function encodeRequestHead(method: string, target: string, headers: Iterable<readonly [string, string]>): Uint8Array {
  if (!isToken(method)) throw new GatewayError("BAD_REQUEST", `method ${JSON.stringify(method)} is not a token`);
  if (!TARGET.test(target)) throw new GatewayError("BAD_REQUEST", `request target ${JSON.stringify(target)} cannot be sent`);
  let text = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of headers) {
    if (!isToken(name) || BAD_VALUE.test(value)) throw new GatewayError("BAD_REQUEST", `field ${JSON.stringify(name)} cannot be sent`);
    text += `${name}: ${value}\r\n`;
  }
  text += "\r\n";
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
