// The body a gateway forwards to a backend that needs its length up front
// (CGI's CONTENT_LENGTH, RFC 3875 §4.1.2; php-fpm): streamed as it comes when
// the client declared a Content-Length, read into memory up to a limit when it
// did not (chunked), as lighttpd and nginx do.

import { GatewayError } from "../errors.ts";
import { readAllLimited } from "../io/bytes.ts";

export interface BodyLimits {
  /** Largest body at all: beyond it 413. */
  maxBodySize: number;
  /** Largest body without Content-Length, which is held in memory. */
  maxBufferedBody: number;
}

export interface ForwardedBody {
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  /** Set when the body had no Content-Length: the length it turned out to have. */
  contentLength?: string;
}

export async function forwardedBody(request: Request, limits: BodyLimits): Promise<ForwardedBody> {
  // RFC 9112 §6.3: a request has a body only with Content-Length or
  // Transfer-Encoding; asking the headers first avoids building a body stream.
  const declared = request.headers.get("content-length");
  const chunked = declared === null && request.headers.has("transfer-encoding");
  if ((declared === null && !chunked) || request.body === null) return { body: null };
  if (declared !== null) {
    if (Number(declared) > limits.maxBodySize) {
      throw new GatewayError("BODY_TOO_LARGE", `Content-Length ${declared} over max_body_size`);
    }
    return { body: Number(declared) === 0 ? null : request.body };
  }
  const limit = Math.min(limits.maxBufferedBody, limits.maxBodySize);
  const bytes = await readAllLimited(
    request.body,
    limit,
    () => new GatewayError("BODY_TOO_LARGE", `chunked body over ${limit} bytes`),
  );
  return { body: bytes.byteLength === 0 ? null : bytes, contentLength: String(bytes.byteLength) };
}
