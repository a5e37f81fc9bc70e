// Turns the parsed head of a CGI response (RFC 3875 §6, see response.ts) and
// the output that follows it into the client's Response. Shared by every
// gateway whose backend answers in CGI's output format: each one supplies
// its output as a CgiOutput, and this file decides the status, the fields
// passed on and the body.

import { GatewayError, isGatewayError } from "../errors.ts";
import { liveResponse } from "../http/live-response.ts";
import { withReasonPhrase } from "../http/reason-phrase.ts";
import { concatBytes } from "../io/bytes.ts";
import type { CgiHead } from "./response.ts";

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
}

/** What the gateway has read of the body by the time the head is complete. */
export interface CgiBody {
  /** Body bytes already read, in order. */
  parts: Uint8Array[];
  /** The output has ended: `parts` is the whole body and `read` is not called. */
  ended: boolean;
}

export interface CgiAnswerOptions {
  /** A HEAD request: the body is read and dropped. */
  head: boolean;
  /** Hears of an answer cut short after it began (the client sees a broken body). */
  onCut(reason: GatewayError): void;
}

/** Statuses whose responses never have a body (RFC 9110 §6.4.1). */
const NO_BODY = new Set([204, 205, 304]);

/** Whether the answer to `head` carries a body: not to a HEAD request, nor with 204, 205 or 304. */
export function hasBody(head: CgiHead, isHead: boolean): boolean {
  return !isHead && !NO_BODY.has(head.status);
}

/** The client's Response for a document or client-redirect head. */
export function cgiResponse(head: CgiHead, body: CgiBody, output: CgiOutput, options: CgiAnswerOptions): Response {
  // RFC 9110 §15.2: an interim 1xx is never a final answer.
  if (head.status < 200) throw new GatewayError("BACKEND_MALFORMED", `status ${head.status} from a CGI response`);
  const headers = headToHeaders(head);
  const init = { status: head.status, statusText: head.statusText, headers };
  if (!hasBody(head, options.head)) {
    if (!body.ended) void discard(output);
    return withReasonPhrase(new Response(null, init), head.statusText);
  }
  if (body.ended) {
    const whole = concatBytes(body.parts);
    // The length is known: say it (a backend's own Content-Length could be wrong).
    if (headers instanceof Headers) headers.set("content-length", String(whole.byteLength));
    else headers["content-length"] = String(whole.byteLength);
    return withReasonPhrase(new Response(whole as Uint8Array<ArrayBuffer>, init), head.statusText);
  }
  // Still coming from the backend: read ahead of a slow client (gateways/handler.ts `buffered`).
  return liveResponse(withReasonPhrase(new Response(bodyStream(body.parts, output, options), init), head.statusText));
}

/** The rest of the output, streamed as the client reads it (highWaterMark 0: backpressure reaches the backend). */
function bodyStream(parts: Uint8Array[], output: CgiOutput, options: CgiAnswerOptions): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      start: (controller) => {
        for (const part of parts) if (part.byteLength > 0) controller.enqueue(part);
      },
      pull: async (controller) => {
        try {
          const chunk = await output.read();
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        } catch (err) {
          // Lost mid-answer: the client must not take a cut body for a whole one.
          const reason = asGatewayError(err);
          if (reason.code !== "CLIENT_CLOSED") options.onCut(reason);
          controller.error(reason);
        }
      },
      cancel: () => output.cancel(new GatewayError("CLIENT_CLOSED", "client stopped reading")),
    },
    { highWaterMark: 0 },
  );
}

/** Reads the output to its end and drops it (a HEAD answer, a 204): the backend finishes as it would. */
async function discard(output: CgiOutput): Promise<void> {
  try {
    while ((await output.read()) !== null);
  } catch {
    // The gateway stopped the backend; nobody waits for these bytes.
  }
}

function asGatewayError(err: unknown): GatewayError {
  return isGatewayError(err) ? err : new GatewayError("BACKEND_UNREACHABLE", String(err), { cause: err });
}

// RFC 9110 §7.6.1: fields about the connection, not the resource; the
// gateway's own server frames the response it sends.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"]);

/**
 * The head's fields as the client Response's headers, hop-by-hop ones
 * dropped. A plain object when no name repeats (runtimes write it without
 * building a Headers), else Headers, which keeps each Set-Cookie apart.
 */
export function headToHeaders(head: CgiHead): Record<string, string> | Headers {
  const plain: Record<string, string> = {};
  for (const [name, value] of head.headers) {
    const key = name.toLowerCase();
    if (HOP_BY_HOP.has(key)) continue;
    if (Object.hasOwn(plain, key)) return headersOf(head);
    plain[key] = value;
  }
  return plain;
}

function headersOf(head: CgiHead): Headers {
  const headers = new Headers();
  for (const [name, value] of head.headers) {
    if (!HOP_BY_HOP.has(name.toLowerCase())) headers.append(name, value);
  }
  return headers;
}
