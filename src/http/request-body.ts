// The request body a gateway forwards to a backend. By default it is received
// whole before a backend is taken (nginx's proxy_request_buffering, lighttpd's
// server.stream-request-body = 0): in memory up to a threshold, then in a
// temporary file (a Spool), so that a client sending slowly holds no backend.
// Its length is then known, for CGI's CONTENT_LENGTH (RFC 3875 §4.1.2) and
// php-fpm. Without buffering, a body with a Content-Length is streamed as it
// comes and one without (chunked) is read into memory up to a limit. Either
// way each read waits at most the route's body timeout (nginx's
// client_body_timeout): then 408.

import type { Spool } from "../buffer/spool.ts";
import { GatewayError } from "../errors.ts";
import { concatBytes, readAllLimited } from "../io/bytes.ts";

export interface BodyLimits {
  /** Largest body at all: beyond it 413. */
  maxBodySize: number;
  /** Largest body without Content-Length when it is not buffered: held in memory. */
  maxBufferedBody: number;
}

export interface ForwardedBody {
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  /** Set when the body had no Content-Length: the length it turned out to have. */
  contentLength?: string;
}

/** What the route's front (gateways/handler.ts) made of a request's body before the gateway saw it. */
type Prepared = { kind: "received"; body: ForwardedBody } | { kind: "timed"; stream: ReadableStream<Uint8Array> };

const prepared = new WeakMap<Request, Prepared>();

/** The body of `request` as its backend gets it: the one received for it, or its own as it comes. */
export async function forwardedBody(request: Request, limits: BodyLimits): Promise<ForwardedBody> {
  const ready = prepared.get(request);
  if (ready?.kind === "received") return ready.body;
  const { declared, chunked } = framing(request);
  if ((declared === null && !chunked) || request.body === null) return { body: null };
  const stream = ready?.stream ?? request.body;
  if (declared !== null) {
    checkDeclared(declared, limits.maxBodySize);
    return { body: Number(declared) === 0 ? null : stream };
  }
  const limit = Math.min(limits.maxBufferedBody, limits.maxBodySize);
  const bytes = await readAllLimited(stream, limit, () => new GatewayError("BODY_TOO_LARGE", `chunked body over ${limit} bytes`));
  return { body: bytes.byteLength === 0 ? null : bytes, contentLength: String(bytes.byteLength) };
}

export interface ReceiveOptions {
  maxBodySize: number;
  /** Longest wait for the next bytes of the body. */
  timeoutMs: number;
  /** Where the body is held; the caller disposes of it when the request is over. */
  spool: Spool;
}

/**
 * Reads the whole body of `request` into `spool` before any backend work;
 * the gateway's forwardedBody then gets it with its length. Fails with 413
 * past max_body_size (and past max_buffered_body where there are no files),
 * 408 when the client stalls, 503 with Retry-After when the app's memory
 * budget is taken and no file can hold it.
 */
export async function receiveBody(request: Request, options: ReceiveOptions): Promise<void> {
  const { declared, chunked } = framing(request);
  if ((declared === null && !chunked) || request.body === null) return;
  if (declared !== null) checkDeclared(declared, options.maxBodySize);
  const { spool } = options;
  const reader = timedReader(request.body, options.timeoutMs);
  let length = 0;
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      length += r.value.byteLength;
      if (length > options.maxBodySize) throw new GatewayError("BODY_TOO_LARGE", `body over max_body_size (${options.maxBodySize} bytes)`);
      const pushed = await spool.push(r.value);
      // Past max_buffered_body where the runtime has no files: never to be held.
      if (pushed === "over-limit") throw new GatewayError("BODY_TOO_LARGE", `body over max_buffered_body (${length}+ bytes) and no temporary files here`);
      if (pushed === "no-room") {
        throw new GatewayError("BUFFERS_FULL", `no room to hold a request body of ${length}+ bytes (max_buffered_total taken, no temporary file)`, { retryAfter: 1 });
      }
    }
  } catch (err) {
    void reader.cancel().catch(() => undefined);
    if (err instanceof GatewayError) throw err;
    // The connection broke mid-body: nobody is left to answer.
    throw new GatewayError("CLIENT_CLOSED", `client went away after ${length} bytes of its body`, { cause: err });
  }
  // A server hands over a body cut short as an error; should one end it early, the backend must not wait for the rest.
  if (declared !== null && length !== Number(declared)) throw new GatewayError("CLIENT_CLOSED", `body ended after ${length} of ${declared} bytes`);
  const body = length === 0 ? null : spooledBody(spool);
  prepared.set(request, { kind: "received", body: { body, ...(declared === null ? { contentLength: String(length) } : {}) } });
}

/** Without buffering: the body as it comes, but each read waits at most `timeoutMs`. */
export function timeBodyReads(request: Request, timeoutMs: number): void {
  if (request.body === null) return;
  const reader = timedReader(request.body, timeoutMs);
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const r = await reader.read();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  prepared.set(request, { kind: "timed", stream });
}

/**
 * The body held in `spool`: one array when it is all in memory (still
 * counted in max_buffered_total until the spool is disposed of, when the
 * request is over), else a stream reading it back.
 */
function spooledBody(spool: Spool): Uint8Array | ReadableStream<Uint8Array> {
  if (!spool.usedFile) return concatBytes(spool.takeAll());
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const part = await spool.shift();
        if (part === null) controller.close();
        else controller.enqueue(part);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Whether `request` has a body to receive: RFC 9112 §6.3, a Content-Length or a Transfer-Encoding. */
export function hasRequestBody(request: Request): boolean {
  const { declared, chunked } = framing(request);
  return (declared !== null || chunked) && request.body !== null;
}

/** RFC 9112 §6.3: a request has a body only with Content-Length or Transfer-Encoding; asking the headers first avoids building a body stream. */
function framing(request: Request): { declared: string | null; chunked: boolean } {
  const declared = request.headers.get("content-length");
  return { declared, chunked: declared === null && request.headers.has("transfer-encoding") };
}

function checkDeclared(declared: string, maxBodySize: number): void {
  if (Number(declared) > maxBodySize) throw new GatewayError("BODY_TOO_LARGE", `Content-Length ${declared} over max_body_size`);
}

/** A reader of `stream` whose reads fail with CLIENT_TIMEOUT when nothing comes for `timeoutMs`. */
function timedReader(stream: ReadableStream<Uint8Array>, timeoutMs: number): { read(): Promise<ReadableStreamReadResult<Uint8Array>>; cancel(reason?: unknown): Promise<void> } {
  const reader = stream.getReader();
  return {
    async read() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new GatewayError("CLIENT_TIMEOUT", `no byte of the request body for ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        return await Promise.race([reader.read(), stalled]);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  };
}
