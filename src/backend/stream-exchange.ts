// One request at a time over a byte stream, the way the uwsgi and SCGI
// protocols carry it, and HTTP/1.1 to a proxied server: lease a connection to
// a backend (src/backend/upstream.ts), write the request's encoded head, send
// the body after it with backpressure, and read the answer — a CGI head, or
// one opened by an HTTP status line — until the backend closes the
// connection, which ends the answer, or, where the protocol frames the body
// (a BodyDecoder: HTTP's Content-Length or chunked coding), until its end,
// after which a clean connection is kept for the next request. Nothing is
// multiplexed: the protocol's codec is the only difference between the
// gateways that use this.

import { cgiResponse, type CgiOutput } from "../cgi/answer.ts";
import type { CgiHead, HeadParser } from "../cgi/response.ts";
import { GatewayError, isGatewayError } from "../errors.ts";
import { concatBytes } from "../io/bytes.ts";
import type { Closable, Lease } from "../pool.ts";
import type { RequestRecord } from "../request-record.ts";
import type { Duplex } from "../runtime.ts";
import { BackendDropped, sendWithRetry } from "./retry.ts";
import type { Upstream } from "./upstream.ts";

/** A backend connection that carries one request. */
export class StreamConnection implements Closable {
  readonly duplex: Duplex;

  constructor(duplex: Duplex) {
    this.duplex = duplex;
  }

  get broken(): boolean {
    return this.duplex.closed;
  }

  close(): void {
    this.duplex.close();
  }
}

/** Where the answer's body ends, for a protocol that frames it; without one, the backend's close ends it. */
export interface BodyDecoder {
  /** The body's bytes in `chunk` (subarrays of it); throws a GatewayError on a framing error. Bytes past the end make the connection unfit to keep. */
  push(chunk: Uint8Array): Uint8Array[];
  /** The body has ended. */
  readonly done: boolean;
  /** Once done: nothing followed the body and the backend keeps the connection open, so it may carry another request. */
  readonly reusable: boolean;
}

export interface StreamTimeouts {
  /** From the request sent whole to the first byte of the answer. */
  firstByteMs: number;
  /** Between two reads once the answer has begun. */
  idleMs: number;
}

export interface StreamRequest {
  /** The request's head in the protocol's encoding, all of it before the body. */
  head: Uint8Array;
  /** null: no body; bytes: a body already in hand; a stream: sent as it comes. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  /** HEAD: the answer's body is read and dropped. */
  isHead: boolean;
  /** May be sent again to another backend if one drops it (src/backend/retry.ts mayRepeat). */
  repeatable: boolean;
  /** The request's hash key, for `balance = "hash"`. */
  key?: string;
  /** Subscribes to the client going away; returns the unsubscribe function. */
  onClientGone(listener: () => void): () => void;
  timeouts: StreamTimeouts;
  /** A parser for the answer's head. */
  parser(): HeadParser;
  /** Where the body after `head` ends (the parser's protocol frames it); absent or undefined: at the backend's close. */
  decoder?(head: CgiHead): BodyDecoder | undefined;
  /** The client did not get the answer as the backend sent it (src/cgi/framing.ts). */
  logCut(reason: GatewayError): void;
  /** The request's record (src/request-record.ts). */
  record?: RequestRecord;
  /** Once the client has its whole answer, the rest of the backend's is read and dropped (within src/cgi/framing.ts's RUN_ON_BYTES and RUN_ON_MS); false where I/O ends with the request (workerd): the connection is closed at once. */
  runOn: boolean;
}

/** A body this small goes out in the head's write. */
const SMALL_BODY = 16 * 1024;
/** A larger one in hand goes out in pieces of this size. */
const PIECE = 64 * 1024;

/**
 * Sends one request; resolves with the client's Response once the answer's
 * head has arrived. A request the backend drops before its first byte (the
 * connection refused, closed or reset) goes to another backend only where
 * src/backend/retry.ts allows it.
 */
export async function streamRequest(upstream: Upstream<StreamConnection>, req: StreamRequest): Promise<Response> {
  let gone = false;
  // The client may leave while the request waits in the queue (then it is withdrawn) or while a backend has it.
  let onGone = (): void => undefined;
  const unsubscribe = req.onClientGone(() => {
    gone = true;
    onGone();
  });
  const send = (lease: Lease<StreamConnection>): Promise<Response> => {
    if (gone) {
      lease.release(false);
      throw new GatewayError("CLIENT_CLOSED", "client left before its request was sent");
    }
    const exchange = new Exchange(lease, req, unsubscribe);
    onGone = () => exchange.abandon(new GatewayError("CLIENT_CLOSED", "client closed the connection"));
    return exchange.run();
  };
  const onCancel = (cancel: () => void) => {
    onGone = cancel;
  };
  try {
    return await sendWithRetry(upstream, { onCancel, key: req.key, repeatable: req.repeatable, record: req.record }, send);
  } catch (err) {
    unsubscribe();
    if (gone) throw new GatewayError("CLIENT_CLOSED", "client closed the connection", { cause: err });
    throw isGatewayError(err) ? err : new GatewayError("INTERNAL", String(err), { cause: err });
  }
}

/** One request on its own connection. */
class Exchange {
  readonly #lease: Lease<StreamConnection>;
  readonly #duplex: Duplex;
  readonly #req: StreamRequest;
  readonly #unsubscribe: () => void;
  /** When the body last moved (or the head went, without one): the wait for the first byte runs from there. */
  #bodyMovedAt = Date.now();
  #done = false;
  /** The head has been answered: the client's going away is heard until the end of the answer. */
  #answered = false;
  /** Why the exchange was abandoned (the client left, its body failed): what a pending read reports. */
  #failure: GatewayError | undefined;
  /** The request body has been written whole: the connection holds nothing of this request unsent. */
  #bodySent = false;
  #decoder: BodyDecoder | undefined;
  /** Body bytes decoded and not yet read. */
  readonly #pending: Uint8Array[] = [];
  /** The decoder found the body's end: reads return null. */
  #bodyEnded = false;

  constructor(lease: Lease<StreamConnection>, req: StreamRequest, unsubscribe: () => void) {
    this.#lease = lease;
    this.#duplex = lease.conn.duplex;
    this.#req = req;
    this.#unsubscribe = unsubscribe;
  }

  async run(): Promise<Response> {
    try {
      const { head, body } = this.#req;
      const inline = body instanceof Uint8Array && body.byteLength <= SMALL_BODY;
      try {
        await this.#duplex.write(inline ? concatBytes([head, body]) : head);
      } catch (err) {
        throw this.#failure ?? new BackendDropped(`writing the request: ${(err as Error).message}`, err);
      }
      this.#bodyMovedAt = Date.now();
      if (!inline && body !== null) this.#sendBody(body);
      else this.#bodySent = true;
      return await this.#response();
    } catch (err) {
      this.abandon();
      throw err;
    }
  }

  /**
   * Sends the body after the head, each write waited for (backpressure),
   * while the answer is read: a backend may answer before it has read it
   * all. A backend that stops reading leaves the rest unsent (its answer
   * says why); a client body that fails abandons the request.
   */
  #sendBody(body: Uint8Array | ReadableStream<Uint8Array>): void {
    const reader = body instanceof Uint8Array ? undefined : body.getReader();
    // Bytes in hand go out in pieces too, so that each one written counts as the body moving.
    let offset = 0;
    const next = async (): Promise<Uint8Array | undefined> => {
      if (reader === undefined) {
        const piece = (body as Uint8Array).subarray(offset, offset + PIECE);
        offset += piece.byteLength;
        return piece.byteLength > 0 ? piece : undefined;
      }
      const r = await reader.read();
      return r.done ? undefined : r.value;
    };
    const pipe = async () => {
      let piece = await next();
      for (; piece !== undefined && !this.#done; piece = await next()) {
        try {
          await this.#duplex.write(piece);
        } catch {
          return;
        }
        this.#bodyMovedAt = Date.now();
      }
      this.#bodySent = piece === undefined;
    };
    pipe().then(
      () => void reader?.cancel().catch(() => undefined),
      (err: unknown) => {
        this.abandon(isGatewayError(err) ? err : new GatewayError("CLIENT_CLOSED", `request body failed: ${String(err)}`, { cause: err }));
      },
    );
  }

  /** Reads until the answer's head is complete and builds the client's Response. */
  async #response(): Promise<Response> {
    const parser = this.#req.parser();
    let began = false;
    for (;;) {
      const chunk = await this.#read(began ? this.#req.timeouts.idleMs : this.#req.timeouts.firstByteMs, began);
      if (chunk === null) {
        if (!began) throw new BackendDropped("connection closed before an answer", undefined);
        throw new GatewayError("BACKEND_MALFORMED", "connection closed before the answer's head was complete");
      }
      if (!began) {
        began = true;
        this.#lease.answered();
      }
      const head = parser.push(chunk);
      if (head === null) continue;
      // RFC 3875 §6.2.2: a local redirect is never passed on as it is; without
      // an internal re-dispatch, it becomes a redirect of the client (as nginx).
      if (head.kind === "local-redirect") {
        head.status = 302;
        head.statusText = "Found";
      }
      const rest = parser.takeRest();
      this.#answered = true;
      const parts = this.#decode(head, rest);
      const output: CgiOutput = {
        read: () => this.#readBody(),
        cancel: (reason) => this.abandon(reason),
        runOn: (drain) => (this.#req.runOn ? void drain() : this.abandon()),
      };
      return cgiResponse(head, { parts, ended: this.#bodyEnded }, output, {
        head: this.#req.isHead,
        onCut: (reason) => this.#req.logCut(reason),
      });
    }
  }

  /** The body bytes of the chunk after the head, through the request's decoder when it has one. */
  #decode(head: CgiHead, rest: Uint8Array): Uint8Array[] {
    this.#decoder = this.#req.decoder?.(head);
    if (this.#decoder === undefined) return rest.byteLength > 0 ? [rest] : [];
    return this.#decodeChunk(rest);
  }

  /** Decodes `chunk`; at the body's end the connection is released, kept when it is clean. */
  #decodeChunk(chunk: Uint8Array): Uint8Array[] {
    const decoder = this.#decoder!;
    const parts = decoder.push(chunk).filter((part) => part.byteLength > 0);
    if (decoder.done) {
      this.#bodyEnded = true;
      this.#finish(decoder.reusable);
    }
    return parts;
  }

  /** The next bytes of the answer's body; null at its end: the decoder's, or else the backend closing the connection. */
  async #readBody(): Promise<Uint8Array | null> {
    const pending = this.#pending.shift();
    if (pending !== undefined) return pending;
    if (this.#bodyEnded) return null;
    if (this.#done) throw this.#failure ?? new GatewayError("CLIENT_CLOSED", "the answer was abandoned");
    try {
      for (;;) {
        const chunk = await this.#read(this.#req.timeouts.idleMs, true);
        if (chunk === null) {
          // A framed body cut short by the backend's close: the client must not take it for a whole one.
          if (this.#decoder !== undefined) throw new GatewayError("BACKEND_UNREACHABLE", "connection closed before the end of the body");
          this.#finish();
          return null;
        }
        if (this.#decoder === undefined) return chunk;
        this.#pending.push(...this.#decodeChunk(chunk));
        const next = this.#pending.shift();
        if (next !== undefined) return next;
        if (this.#bodyEnded) return null;
      }
    } catch (err) {
      this.abandon();
      throw err;
    }
  }

  /**
   * The next chunk from the backend, within `timeoutMs`. Before the answer
   * has begun, a reset is the backend dropping the request (BackendDropped)
   * and the time runs from the body's last write (first_byte_timeout: "from
   * the request body sent whole"), however long the read has waited while it
   * moved; after, a reset cuts the answer.
   */
  #read(timeoutMs: number, began: boolean): Promise<Uint8Array | null> {
    const code = began ? "BACKEND_IDLE_TIMEOUT" : "BACKEND_FIRST_BYTE_TIMEOUT";
    // One promise settled by the first of the read and the timer (a
    // Promise.race would add a promise of its own and two reactions per chunk).
    return new Promise<Uint8Array | null>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout>;
      const expire = () => {
        const still = Date.now() - this.#bodyMovedAt;
        if (!began && still < timeoutMs) {
          timer = setTimeout(expire, timeoutMs - still);
          return;
        }
        reject(this.#failure ?? new GatewayError(code, `no answer from the backend in ${timeoutMs} ms`));
      };
      timer = setTimeout(expire, timeoutMs);
      this.#duplex.read().then(
        (chunk) => {
          clearTimeout(timer);
          if (this.#failure) reject(this.#failure);
          else resolve(chunk);
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (this.#failure) return reject(this.#failure);
          if (isGatewayError(err)) return reject(err);
          const detail = `connection reset: ${(err as Error).message}`;
          reject(began ? new GatewayError("BACKEND_UNREACHABLE", detail, { cause: err }) : new BackendDropped(detail, err));
        },
      );
    });
  }

  /** The answer is complete: the backend closed the connection, or (`reusable`) its body ended cleanly. */
  #finish(reusable = false): void {
    if (this.#done) return;
    this.#done = true;
    this.#release(reusable && this.#bodySent);
  }

  /** Stops the request: the connection is closed, so the backend sees it end. */
  abandon(reason?: GatewayError): void {
    if (this.#done) return;
    this.#done = true;
    this.#failure = reason;
    this.#release();
  }

  #release(keep = false): void {
    if (this.#answered) this.#unsubscribe();
    if (!keep) this.#duplex.close();
    this.#lease.release(keep);
  }
}
