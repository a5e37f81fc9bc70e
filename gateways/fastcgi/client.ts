// A FastCGI Responder request's life (FastCGI spec §6.2): lease a connection,
// send BEGIN_REQUEST, PARAMS and STDIN, read STDOUT through the CGI response
// parser, log STDERR, and hand the connection back only when it is clean.

import { cgiResponse, type CgiBody, type CgiOutput } from "../../src/cgi/answer.ts";
import { CgiResponseParser, type CgiHead } from "../../src/cgi/response.ts";
import { GatewayError, isGatewayError } from "../../src/errors.ts";
import type { Address } from "../../src/address.ts";
import { BackendDropped, sendWithRetry } from "../../src/backend/retry.ts";
import type { Upstream } from "../../src/backend/upstream.ts";
import type { Lease } from "../../src/pool.ts";
import type { RequestRecord } from "../../src/request-record.ts";
import { concatBytes } from "../../src/io/bytes.ts";
import type { FcgiConnection, FcgiEvent, RequestEvents } from "./connection.ts";
import { FastCgiProtocolError } from "./errors.ts";
import { encodeAbortRequest, encodeStream, encodeStreamEnd, FCGI_KEEP_CONN, ProtocolStatus, RecordType, type Role } from "./record.ts";
import { encodeRequestStart } from "./request.ts";

export interface FcgiTimeouts {
  /** From the request sent to the first record of the answer. */
  firstByteMs: number;
  /** Between two reads once the answer has begun. */
  idleMs: number;
}

export interface FcgiRequest {
  params: Record<string, string>;
  /** null: no body; bytes: a body already in hand; a stream: sent as it comes, with backpressure. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  /** HEAD: the answer's body is read and dropped. */
  head: boolean;
  /** Subscribes to the client going away; returns the unsubscribe function. */
  onClientGone(listener: () => void): () => void;
  keepAlive: boolean;
  timeouts: FcgiTimeouts;
  maxHeaderBytes: number;
  logStderr(text: string): void;
  /** The client did not get the answer as the backend sent it: cut short, or bytes past its Content-Length dropped. */
  logCut(reason: GatewayError): void;
  /** The request may be sent again to another backend if one drops it (src/backend/retry.ts mayRepeat). */
  repeatable: boolean;
  /** The request's hash key, for `balance = "hash"`. */
  key?: string;
  /**
   * Once the client has its whole answer, the backend's request runs on to
   * its end, its further output read and dropped. False where connections
   * belong to the request (workerd), whose I/O ends with its answer: the
   * backend's request is then stopped instead.
   */
  runOn: boolean;
  /** The request's record (src/request-record.ts). */
  record?: RequestRecord;
  /** Told which backend each try goes to, and which one passed a timeout (the WSGI supervisor counts and kills its workers). */
  watch?: BackendWatch;
  /** FCGI_AUTHORIZER for an Authorizer request (spec §6.3); Responder when absent. */
  role?: Role;
  /** Given the CGI head as the backend wrote it (names in their case), before the Response is made of it. */
  onHead?(head: CgiHead): void;
}

export interface BackendWatch {
  leased(backend: Address): void;
  timedOut(backend: Address): void;
}

/** STDERR kept per request for the log; the rest is counted, not stored. */
const STDERR_LIMIT = 8 * 1024;

/**
 * Sends one request; resolves with the client's Response once the CGI head
 * has arrived. A request the backend drops before its head is sent again
 * only where src/backend/retry.ts allows it: idempotent, its body in hand.
 */
export async function fcgiRequest(upstream: Upstream<FcgiConnection>, req: FcgiRequest): Promise<Response> {
  // The client may leave while the request waits for a connection: then it
  // is withdrawn from the queue and never reaches a backend.
  let onGone = (): void => undefined;
  let gone = false;
  let unsubscribe: (() => void) | undefined;
  // A try that failed stopped listening; the next one listens again.
  const listen = () => {
    unsubscribe ??= req.onClientGone(() => {
      gone = true;
      onGone();
    });
  };
  const stopListening = () => {
    unsubscribe?.();
    unsubscribe = undefined;
  };
  listen();
  const send = async (lease: Lease<FcgiConnection>): Promise<Response> => {
    listen();
    if (gone) {
      lease.release(true);
      throw new GatewayError("CLIENT_CLOSED", "client left before its request was sent");
    }
    req.watch?.leased(lease.backend);
    const conn = lease.conn;
    const events = conn.open();
    const call = new Call(lease, events, req, stopListening);
    onGone = () => call.abandon();
    try {
      const body = req.body instanceof ReadableStream ? "stream" : req.body;
      await conn.write(encodeRequestStart(events.id, req.keepAlive ? FCGI_KEEP_CONN : 0, req.params, body, req.role));
      if (req.body instanceof ReadableStream) call.sendBody(req.body);
      return await call.response();
    } catch (err) {
      call.abandon();
      throw gone ? err : droppedOr(err);
    }
  };
  try {
    // A request sent again may queue: it listens for its client again there.
    const onCancel = (cancel: () => void) => {
      listen();
      onGone = cancel;
    };
    return await sendWithRetry(upstream, { onCancel, key: req.key, repeatable: req.repeatable, record: req.record }, send);
  } catch (err) {
    stopListening();
    if (gone) throw new GatewayError("CLIENT_CLOSED", "client closed the connection", { cause: err });
    throw toGatewayError(err);
  }
}

/**
 * A failure before the head that is neither the backend's answer (a
 * protocol error, a FastCGI status) nor a timeout: the connection was closed
 * or reset under the request (a kept one the backend closed while idle, a
 * backend that died).
 */
function droppedOr(err: unknown): unknown {
  if (isGatewayError(err) || err instanceof FastCgiProtocolError) return err;
  return new BackendDropped(err instanceof Error ? err.message : String(err), err);
}

function toGatewayError(err: unknown): GatewayError {
  if (isGatewayError(err)) return err;
  if (err instanceof FastCgiProtocolError) return new GatewayError("BACKEND_MALFORMED", err.message, { cause: err });
  const detail = err instanceof Error ? err.message : String(err);
  return new GatewayError("BACKEND_UNREACHABLE", detail, { cause: err });
}

/** One request in flight on a leased connection. */
class Call {
  readonly #lease: Lease<FcgiConnection>;
  readonly #events: RequestEvents;
  readonly #req: FcgiRequest;
  #bodySent: boolean;
  #done = false;
  #stderrBytes = 0;
  #stderr: Uint8Array[] = [];
  readonly #unsubscribe: () => void;

  constructor(lease: Lease<FcgiConnection>, events: RequestEvents, req: FcgiRequest, unsubscribe: () => void) {
    this.#lease = lease;
    this.#events = events;
    this.#req = req;
    this.#bodySent = !(req.body instanceof ReadableStream);
    this.#unsubscribe = unsubscribe;
  }

  /** Streams the request body as STDIN records; waits for each write (backpressure). */
  sendBody(body: ReadableStream<Uint8Array>): void {
    const conn = this.#lease.conn;
    const id = this.#events.id;
    const pipe = async () => {
      const reader = body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (this.#done) {
          await reader.cancel();
          return;
        }
        if (value.byteLength > 0) await conn.write(encodeStream(RecordType.STDIN, id, value));
      }
      await conn.write(encodeStreamEnd(RecordType.STDIN, id));
      this.#bodySent = true;
    };
    pipe().catch(() => this.abandon());
  }

  /** Reads until the CGI head is complete and builds the client's Response. */
  async response(): Promise<Response> {
    const parser = new CgiResponseParser({ maxHeaderBytes: this.#req.maxHeaderBytes });
    let head: CgiHead | null = null;
    let timeoutMs = this.#req.timeouts.firstByteMs;
    while (head === null) {
      const event = await this.#next(timeoutMs, "BACKEND_FIRST_BYTE_TIMEOUT");
      // A php-fpm child has taken the connection: another request may try one more (src/pool.ts).
      this.#lease.answered();
      timeoutMs = this.#req.timeouts.idleMs;
      if (event.type === "stderr") this.#keepStderr(event.data);
      else if (event.type === "stdout") head = parser.push(event.data);
      else {
        this.#endStatusCheck(event);
        parser.finish();
      }
    }
    // RFC 3875 §6.2.2: a local redirect is never passed on as it is; without
    // an internal re-dispatch, it becomes a redirect of the client (as nginx).
    if (head.kind === "local-redirect") {
      head.status = 302;
      head.statusText = "Found";
    }
    this.#req.onHead?.(head);
    const first = parser.takeRest();
    const output: CgiOutput = {
      read: () => this.#read(),
      cancel: () => this.abandon(),
      runOn: (drain) => (this.#req.runOn ? void drain() : this.abandon()),
    };
    const options = { head: this.#req.head, onCut: (reason: GatewayError) => this.#req.logCut(reason) };
    // A head that is the whole answer (HEAD, 204, 304) goes to the client at
    // once; what the backend still sends is read and dropped behind it
    // (src/cgi/framing.ts discardRest, bounded), and the connection is kept
    // only if that ends cleanly.
    return cgiResponse(head, this.#bodyRead(first), output, options);
  }

  /** What has been read of the body; the whole body when the answer is already complete. */
  #bodyRead(first: Uint8Array): CgiBody {
    const parts = first.byteLength > 0 ? [first] : [];
    if (!this.#events.ended) return { parts, ended: false };
    for (let event = this.#events.takeQueued(); event; event = this.#events.takeQueued()) {
      if (event.type === "stdout") parts.push(event.data);
      else if (event.type === "stderr") this.#keepStderr(event.data);
      else {
        this.#complete();
        break;
      }
    }
    return { parts, ended: true };
  }

  /** The next STDOUT bytes, null at END_REQUEST; a failure abandons the request. */
  async #read(): Promise<Uint8Array | null> {
    try {
      for (;;) {
        const event = await this.#next(this.#req.timeouts.idleMs, "BACKEND_IDLE_TIMEOUT");
        if (event.type === "stdout") return event.data;
        if (event.type === "stderr") this.#keepStderr(event.data);
        else {
          this.#complete();
          return null;
        }
      }
    } catch (err) {
      this.abandon();
      throw toGatewayError(err);
    }
  }

  #next(timeoutMs: number, code: "BACKEND_FIRST_BYTE_TIMEOUT" | "BACKEND_IDLE_TIMEOUT"): Promise<FcgiEvent> {
    const queued = this.#events.takeQueued();
    if (queued) return Promise.resolve(queued);
    // One promise settled by the first of the event and the timer (a
    // Promise.race would add a promise of its own and two reactions per read).
    return new Promise<FcgiEvent>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout>;
      const expire = () => {
        // A backend answers once the whole body is in (php reads it first):
        // the wait for a first byte starts when the upload has ended.
        if (!this.#bodySent) {
          timer = setTimeout(expire, timeoutMs);
          return;
        }
        this.abandon();
        this.#req.watch?.timedOut(this.#lease.backend);
        reject(new GatewayError(code, `no answer from the backend in ${timeoutMs} ms`));
      };
      timer = setTimeout(expire, timeoutMs);
      this.#events.next().then(
        (event) => {
          clearTimeout(timer);
          resolve(event);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /** END_REQUEST before a head: the backend's protocol status says why (spec §5.5). */
  #endStatusCheck(event: Extract<FcgiEvent, { type: "end" }>): void {
    this.#complete();
    switch (event.protocolStatus) {
      case ProtocolStatus.REQUEST_COMPLETE:
        return;
      case ProtocolStatus.OVERLOADED:
      case ProtocolStatus.CANT_MPX_CONN:
        throw new GatewayError("BACKEND_OVERLOADED", `backend refused the request (protocol status ${event.protocolStatus})`, {
          retryAfter: 1,
        });
      default:
        throw new GatewayError("BACKEND_MALFORMED", `backend ended the request with protocol status ${event.protocolStatus}`);
    }
  }

  #keepStderr(data: Uint8Array): void {
    if (this.#stderrBytes < STDERR_LIMIT) this.#stderr.push(data.subarray(0, STDERR_LIMIT - this.#stderrBytes));
    this.#stderrBytes += data.byteLength;
  }

  #flushStderr(): void {
    if (this.#stderrBytes === 0) return;
    let text = new TextDecoder().decode(concatBytes(this.#stderr)).trimEnd();
    if (this.#stderrBytes > STDERR_LIMIT) text += ` [${this.#stderrBytes - STDERR_LIMIT} more bytes]`;
    this.#req.logStderr(text);
    this.#stderr = [];
    this.#stderrBytes = 0;
  }

  /** END_REQUEST read: the connection is reusable if the body went out whole and nothing is left unread. */
  #complete(): void {
    if (this.#done) return;
    this.#done = true;
    this.#cleanup();
    const conn = this.#lease.conn;
    conn.finish(this.#events);
    // A multiplexed connection carries other requests: only a broken one goes.
    this.#lease.release(conn.multiplexed ? conn.reusable : this.#req.keepAlive && this.#bodySent && conn.reusable);
  }

  /** The client went away or the answer failed: stop the request and never reuse a dirty connection. */
  abandon(): void {
    if (this.#done) return;
    this.#done = true;
    this.#cleanup();
    const conn = this.#lease.conn;
    if (conn.multiplexed && !conn.broken) {
      // Other requests share the connection: FCGI_ABORT_REQUEST (spec §5.4)
      // stops this one and its late records are dropped.
      conn.finish(this.#events, true);
      conn.write(encodeAbortRequest(this.#events.id)).catch(() => undefined);
      this.#lease.release(true);
      return;
    }
    conn.finish(this.#events);
    this.#lease.release(false);
  }

  #cleanup(): void {
    this.#unsubscribe();
    this.#flushStderr();
  }
}
