// One FastCGI transport connection: writes records, and demultiplexes the
// records it reads into per-request event queues by request id (FastCGI spec
// §3.3: records of concurrent requests interleave on a multiplexed
// connection). Reading is pulled by the requests that need events, so a slow
// client slows the backend instead of filling memory; FastCGI has no flow
// control of its own, so on a multiplexed connection a request whose queue is
// full holds up the others (spec §5.2, "it is the responsibility of the
// Web server to ... control the rate").

import type { Duplex } from "../../src/runtime.ts";
import { FastCgiProtocolError } from "./errors.ts";
import { RecordReader, type FcgiRecord } from "./reader.ts";
import { decodeEndRequest, RecordType } from "./record.ts";

export type FcgiEvent =
  | { type: "stdout"; data: Uint8Array }
  | { type: "stderr"; data: Uint8Array }
  | { type: "end"; appStatus: number; protocolStatus: number };

/** Bytes one request may have queued before reading stops for everyone. */
const QUEUE_LIMIT = 1024 * 1024;

export class ConnectionClosedError extends Error {}

export class RequestEvents {
  readonly id: number;
  readonly #conn: FcgiConnection;
  readonly #queue: FcgiEvent[] = [];
  #queuedBytes = 0;
  #failure: unknown;
  #ended = false;
  #drained: (() => void) | undefined;

  constructor(conn: FcgiConnection, id: number) {
    this.#conn = conn;
    this.id = id;
  }

  /** True once END_REQUEST for this request has been read. */
  get ended(): boolean {
    return this.#ended;
  }

  get full(): boolean {
    return this.#queuedBytes >= QUEUE_LIMIT;
  }

  deliver(event: FcgiEvent): void {
    if (event.type === "end") this.#ended = true;
    else this.#queuedBytes += event.data.byteLength;
    this.#queue.push(event);
  }

  fail(err: unknown): void {
    this.#failure ??= err;
    this.#notifyDrained();
  }

  /** Queued events without reading more: for the fast path when a response arrived whole. */
  takeQueued(): FcgiEvent | undefined {
    const event = this.#queue.shift();
    if (event && event.type !== "end") {
      this.#queuedBytes -= event.data.byteLength;
      if (!this.full) this.#notifyDrained();
    }
    return event;
  }

  /** The next event, reading from the connection when none is queued. */
  async next(): Promise<FcgiEvent> {
    for (;;) {
      const event = this.takeQueued();
      if (event) return event;
      if (this.#failure !== undefined) throw this.#failure;
      await this.#conn.pump();
    }
  }

  /** Resolves when this request's queue has room again. */
  whenDrained(): Promise<void> {
    if (!this.full || this.#failure !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drained = resolve;
    });
  }

  #notifyDrained(): void {
    const drained = this.#drained;
    this.#drained = undefined;
    drained?.();
  }
}

export class FcgiConnection {
  readonly #duplex: Duplex;
  readonly #records = new RecordReader();
  readonly #requests = new Map<number, RequestEvents>();
  #pumping: Promise<void> | undefined;
  #broken: unknown;
  #nextId = 1;
  readonly #abandoned = new Set<number>();
  /** The backend takes concurrent requests on this connection (FCGI_MPXS_CONNS=1). */
  readonly multiplexed: boolean;

  constructor(duplex: Duplex, multiplexed: boolean) {
    this.#duplex = duplex;
    this.multiplexed = multiplexed;
  }

  /** Failed, or closed by either side (a backend may close a kept connection while it sits idle). */
  get broken(): boolean {
    return this.#broken !== undefined || this.#duplex.closed;
  }

  /**
   * Safe to carry another request: not broken, and, unless multiplexed, no
   * request open and no partial record held (unread bytes would be read as
   * the next request's answer).
   */
  get reusable(): boolean {
    if (this.broken) return false;
    return this.multiplexed || (this.#requests.size === 0 && !this.#records.pending);
  }

  /** Registers a new request and returns its id and event queue. */
  open(): RequestEvents {
    let id = this.#nextId;
    // An id is free once its END_REQUEST has been read, abandoned ones included.
    while (this.#requests.has(id) || this.#abandoned.has(id)) id = id >= 0xffff ? 1 : id + 1;
    this.#nextId = id >= 0xffff ? 1 : id + 1;
    const events = new RequestEvents(this, id);
    this.#requests.set(id, events);
    return events;
  }

  /**
   * Forgets a request. An abandoned one is failed (a read waiting for it, or
   * for room in its queue, wakes up) and records still arriving for its id
   * are dropped until its END_REQUEST (after FCGI_ABORT_REQUEST).
   */
  finish(events: RequestEvents, abandoned = false): void {
    if (this.#requests.get(events.id) !== events) return;
    this.#requests.delete(events.id);
    if (abandoned) {
      events.fail(new ConnectionClosedError("request abandoned"));
      if (!events.ended) this.#abandoned.add(events.id);
    }
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    return this.#duplex.write(bytes);
  }

  /** Reads one chunk from the backend and delivers its records. Concurrent callers share one read. */
  pump(): Promise<void> {
    if (this.#pumping) return this.#pumping;
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    const full = this.#fullRequest();
    const chunk = full ? full.whenDrained().then(() => this.#duplex.read()) : this.#duplex.read();
    this.#pumping = chunk.then(this.#onChunk, this.#onReadError);
    return this.#pumping;
  }

  /** A request whose queue is full: reading waits for it (multiplexed connections only). */
  #fullRequest(): RequestEvents | undefined {
    if (!this.multiplexed) return undefined;
    for (const events of this.#requests.values()) if (events.full) return events;
    return undefined;
  }

  readonly #onChunk = (chunk: Uint8Array | null): void => {
    this.#pumping = undefined;
    if (this.#broken !== undefined) throw this.#broken;
    if (chunk === null) {
      if (this.#records.pending) throw this.#break(new FastCgiProtocolError("connection closed inside a record"));
      throw this.#break(new ConnectionClosedError("connection closed by the backend"));
    }
    try {
      this.#records.push(chunk, this.#dispatch);
    } catch (err) {
      throw this.#break(err);
    }
  };

  readonly #onReadError = (err: unknown): never => {
    this.#pumping = undefined;
    throw this.#break(new ConnectionClosedError("connection reset", { cause: err }));
  };

  readonly #dispatch = (record: FcgiRecord): void => {
    const events = this.#requests.get(record.requestId);
    if (!events) {
      if (this.#abandoned.has(record.requestId)) {
        if (record.type === RecordType.END_REQUEST) this.#abandoned.delete(record.requestId);
        return;
      }
      throw new FastCgiProtocolError(`record of type ${record.type} for unknown request id ${record.requestId}`);
    }
    switch (record.type) {
      case RecordType.STDOUT:
        if (record.content.byteLength > 0) events.deliver({ type: "stdout", data: record.content });
        return;
      case RecordType.STDERR:
        if (record.content.byteLength > 0) events.deliver({ type: "stderr", data: record.content });
        return;
      case RecordType.END_REQUEST: {
        const { appStatus, protocolStatus } = decodeEndRequest(record.content);
        events.deliver({ type: "end", appStatus, protocolStatus });
        return;
      }
      default:
        throw new FastCgiProtocolError(`unexpected record type ${record.type} for a request`);
    }
  };

  #break(err: unknown): unknown {
    this.#broken ??= err;
    for (const events of this.#requests.values()) events.fail(this.#broken);
    this.#duplex.close();
    return this.#broken;
  }

  close(): void {
    this.#break(new ConnectionClosedError("connection closed by the gateway"));
  }
}
