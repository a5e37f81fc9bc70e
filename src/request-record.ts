// What is learnt about one request as it is served, for the access log and
// the metrics: who asked what, which route and backend answered, how long the
// backend took to its answer's head, and how many bytes of the answer left,
// counted as the server took them (a client that went away mid-answer got
// fewer than the answer had). An app's request observation makes one record
// per client request and hands it, once the answer is over, to whoever
// listens (RequestObserver.onRequestDone).
//
// A route and the backend code reach the record through the request's env
// (ServeEnv), where it sits under a private key. Every env derived from the
// client's (a URL put in its normal form, a local redirect's inner request,
// RFC 3875 §6.2.2) inherits it, so the inner request of a local redirect adds
// to the client's record: the route recorded is the last one entered.

import type { Address } from "./address.ts";
import { formatAddress } from "./address.ts";

export class RequestRecord {
  /** When the request arrived: milliseconds since the epoch. */
  readonly start: number;
  readonly method: string;
  /** The request line's target: the path and query as the client sent them. */
  readonly target: string;
  /** The request line's protocol: "HTTP/1.1", "HTTP/2". */
  readonly protocol: string;
  /** The client's address (behind a trusted proxy, the address it forwarded); "" where the runtime cannot tell. */
  readonly client: string;
  readonly referer: string | null;
  readonly userAgent: string | null;
  /** The route that served the request, as messages name it (`routes[2] (fastcgi /app/*)`): the last one entered. */
  route?: string;
  /** The backend whose answer the client got (src/address.ts formatAddress): the last one the request was sent to. */
  backend?: string;
  /** Milliseconds from a connection to `backend` in hand to its answer's head (nginx's $upstream_header_time). */
  upstreamMs?: number;
  /** The status the client was answered with. */
  status?: number;
  /** Bytes of the answer's body the server took to send (HEAD: 0). */
  bytesSent = 0;
  /** Milliseconds from arrival to the answer's end (or the client gone); set when done. */
  durationMs?: number;
  /** False when the client went away before the whole answer was sent; set when done. */
  completed?: boolean;
  /** performance.now() at arrival: durations do not follow the wall clock's jumps. */
  readonly #began: number;
  #upstreamBegan = 0;

  constructor(request: RecordedRequest) {
    this.start = Date.now();
    this.#began = performance.now();
    this.method = request.method;
    this.target = request.target;
    this.protocol = request.protocol;
    this.client = request.client;
    this.referer = request.referer;
    this.userAgent = request.userAgent;
  }

  /** A connection to `backend` is in hand and the request goes out on it (each try of a request sent again). */
  sendingTo(backend: Address): void {
    this.backend = formatAddress(backend);
    this.upstreamMs = undefined;
    this.#upstreamBegan = performance.now();
  }

  /** The backend's answer head has arrived. */
  answered(): void {
    this.upstreamMs = performance.now() - this.#upstreamBegan;
  }

  /** The answer is over: sent whole (`completed`) or not, the client gone. */
  finish(completed: boolean): void {
    this.completed = completed;
    this.durationMs = performance.now() - this.#began;
  }
}

/** What a record is made from: the request as it arrived. */
export interface RecordedRequest {
  method: string;
  target: string;
  protocol: string;
  client: string;
  referer: string | null;
  userAgent: string | null;
}

/** Where a record sits in an env: a symbol nobody else can name. */
const RECORD = Symbol("postern.requestRecord");

/** The env fields that carry `record` (for gateways/handler.ts derivedEnv). */
export function recordFields(record: RequestRecord): Record<symbol, unknown> {
  return { [RECORD]: record };
}

/** The record of the request served with `env`, where the app observes its requests. */
export function recordOf(env: unknown): RequestRecord | undefined {
  if (typeof env !== "object" || env === null) return undefined;
  return (env as Record<symbol, RequestRecord | undefined>)[RECORD];
}

export type RequestDoneListener = (record: RequestRecord) => void;

/** An app's finished requests, as they finish. */
export class RequestObserver {
  readonly #listeners = new Set<RequestDoneListener>();

  /** Calls `listener` with each request's record once its answer is over; returns the unsubscribe function. */
  onRequestDone(listener: RequestDoneListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Whether anyone listens: without listeners, requests need no record. */
  get observed(): boolean {
    return this.#listeners.size > 0;
  }

  /** Hands a finished record to every listener; one that throws goes to `complain` and does not keep it from the others. */
  done(record: RequestRecord, complain: (err: unknown) => void): void {
    for (const listener of this.#listeners) {
      try {
        listener(record);
      } catch (err) {
        complain(err);
      }
    }
  }
}
