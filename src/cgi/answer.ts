// Turns the parsed head of a CGI response (RFC 3875 §6, see response.ts) and
// the output that follows it into the client's Response. Shared by every
// gateway whose backend answers in CGI's output format: each one supplies
// its output as a CgiOutput, and this file decides the status, the fields
// passed on and the body (framed by framing.ts).

import { GatewayError } from "../errors.ts";
import { liveResponse } from "../http/live-response.ts";
import { withReasonPhrase } from "../http/reason-phrase.ts";
import { concatBytes } from "../io/bytes.ts";
import { declaredLength, discardRest, framedBody, framedWhole, type FramingHooks } from "./framing.ts";
import type { CgiHead } from "./response.ts";
import { SENDFILE_FIELDS, sendfileField, withSendfile } from "./sendfile.ts";

/** The backend's output after the head, as the gateway reads it. */
export interface CgiOutput {
  /**
   * The next chunk of output; null at its end, once the gateway has done
   * with the backend. When the output is lost (a timeout, a crash) the
   * gateway stops the backend and this rejects with the reason.
   */
  read(): Promise<Uint8Array | null>;
  /** Nobody will read the rest (the client left): stop the backend. */
  cancel(reason: GatewayError): void;
  /**
   * The client has its whole answer while the backend's output goes on:
   * runs `drain` (which reads the rest and drops it) where the platform
   * keeps it alive, or stops the backend where it cannot. Absent: `drain`
   * runs in the background.
   */
  runOn?(drain: () => Promise<void>): void;
}

/** What the gateway has read of the body by the time the head is complete. */
export interface CgiBody {
  /** Body bytes already read, in order. */
  parts: Uint8Array[];
  /** The output has ended: `parts` is the whole body and `read` is not called. */
  ended: boolean;
}

export interface CgiAnswerOptions extends FramingHooks {
  /** A HEAD request: the body is read and dropped. */
  head: boolean;
}

/** Statuses whose responses never have a body (RFC 9110 §6.4.1). */
const NO_BODY = new Set([204, 205, 304]);

/** Whether the answer to `head` carries a body: not to a HEAD request, nor with 204, 205 or 304. */
export function hasBody(head: CgiHead, isHead: boolean): boolean {
  return !isHead && !NO_BODY.has(head.status);
}

/**
 * The client's Response for a document or client-redirect head. Throws
 * BACKEND_MALFORMED (502) for an answer that cannot be passed on: a 1xx
 * status, a bad Content-Length, or a whole body shorter than it declared.
 */
export function cgiResponse(head: CgiHead, body: CgiBody, output: CgiOutput, options: CgiAnswerOptions): Response {
  return withSendfile(answer(head, body, output, options), sendfileField(head.headers));
}

function answer(head: CgiHead, body: CgiBody, output: CgiOutput, options: CgiAnswerOptions): Response {
  // RFC 9110 §15.2: an interim 1xx is never a final answer.
  if (head.status < 200) throw new GatewayError("BACKEND_MALFORMED", `status ${head.status} from a CGI response`);
  const length = declaredLength(head.headers);
  const headers = headToHeaders(head);
  const init = { status: head.status, statusText: head.statusText, headers };
  if (!hasBody(head, options.head)) {
    if (!body.ended) discardRest(output, undefined, false, options, true);
    // RFC 9110 §9.3.2: a HEAD answer has the GET answer's fields, its length
    // included; §8.6: none on 204 (nor 205, 304, which have no body to measure).
    if (options.head && !NO_BODY.has(head.status) && length !== undefined) setLength(headers, length);
    return withReasonPhrase(new Response(null, init), head.statusText);
  }
  if (body.ended) {
    const whole = framedWhole(concatBytes(body.parts), length, options);
    setLength(headers, whole.byteLength);
    return withReasonPhrase(new Response(whole as Uint8Array<ArrayBuffer>, init), head.statusText);
  }
  if (length !== undefined) setLength(headers, length);
  // Still coming from the backend: read ahead of a slow client (gateways/handler.ts `buffered`).
  return liveResponse(withReasonPhrase(new Response(framedBody(body.parts, output, length, options), init), head.statusText));
}

function setLength(headers: Record<string, string> | Headers, length: number): void {
  if (headers instanceof Headers) headers.set("content-length", String(length));
  else headers["content-length"] = String(length);
}

// RFC 9110 §7.6.1: fields about the connection, not the resource, and the
// ones a backend's Connection field names; the gateway's own server frames
// the response it sends. Content-Length is the gateway's too (framing.ts),
// sent once checked.
// And the sendfile fields (sendfile.ts), which name a path on the server: never the client's.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "content-length", ...SENDFILE_FIELDS]);

/**
 * The head's fields as the client Response's headers, hop-by-hop ones
 * dropped. A plain object when no name repeats (runtimes write it without
 * building a Headers), else Headers, which keeps each Set-Cookie apart.
 */
export function headToHeaders(head: CgiHead): Record<string, string> | Headers {
  const dropped = droppedFields(head);
  const plain: Record<string, string> = {};
  for (const [name, value] of head.headers) {
    const key = name.toLowerCase();
    if (dropped.has(key)) continue;
    if (Object.hasOwn(plain, key)) return headersOf(head, dropped);
    plain[key] = value;
  }
  return plain;
}

function headersOf(head: CgiHead, dropped: ReadonlySet<string>): Headers {
  const headers = new Headers();
  for (const [name, value] of head.headers) {
    if (!dropped.has(name.toLowerCase())) headers.append(name, value);
  }
  return headers;
}

/** The hop-by-hop fields, and those the head's Connection fields name (connection-option = token, §7.6.1). */
function droppedFields(head: CgiHead): ReadonlySet<string> {
  let dropped: Set<string> | undefined;
  for (const [name, value] of head.headers) {
    if (name.length !== 10 || name.toLowerCase() !== "connection") continue;
    dropped ??= new Set(HOP_BY_HOP);
    for (const option of value.split(",")) {
      const token = option.trim().toLowerCase();
      if (token !== "") dropped.add(token);
    }
  }
  return dropped ?? HOP_BY_HOP;
}
