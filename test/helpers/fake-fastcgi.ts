// A hand-written, misbehaving FastCGI application (FastCGI spec §3-§6) for the
// fault tests: it speaks through postern's own codec (RecordReader in,
// encode* out) and answers each request however the test's behaviour says —
// well, badly, late, not at all, multiplexed (§3.3), or with raw bytes no real
// backend would send. It also answers FCGI_GET_VALUES (§4.1) as configured and
// counts what the gateway did to it.

import { createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeParams, encodeParams } from "../../gateways/fastcgi/params.ts";
import { RecordReader, type FcgiRecord } from "../../gateways/fastcgi/reader.ts";
import {
  decodeBeginRequest,
  encodeEndRequest,
  encodeRecord,
  encodeStream,
  encodeStreamEnd,
  FCGI_KEEP_CONN,
  HEADER_LENGTH,
  MAX_CONTENT_LENGTH,
  paddingFor,
  ProtocolStatus,
  RecordType,
  writeHeader,
} from "../../gateways/fastcgi/record.ts";
import { concatBytes } from "../../src/io/bytes.ts";

const encoder = new TextEncoder();
const bytesOf = (data: string | Uint8Array): Uint8Array => (typeof data === "string" ? encoder.encode(data) : data);

export type Behaviour = (request: FakeRequest) => void | Promise<void>;

/** What the fake says to FCGI_GET_VALUES (§4.1): these values, nothing (the probe times out), or a closed connection. */
export type GetValuesAnswer = Record<string, string> | "silent" | "close";

export interface FakeOptions {
  /** Also listen on 127.0.0.1 (see `tcpAddress`), on `tcpPort` or else a free port. */
  tcp?: boolean;
  tcpPort?: number;
  /** Listen on this unix socket path instead of one in a fresh temp dir (the caller removes it). */
  socketPath?: string;
  /** Default: `{ FCGI_MPXS_CONNS: "0" }`, as php-fpm answers. */
  getValues?: GetValuesAnswer;
  /** Close the connection after every END_REQUEST even when the gateway asked for FCGI_KEEP_CONN (§5.1). */
  closeAfterEach?: boolean;
  /** The behaviour of requests no `next()` behaviour is queued for; default `respond("ok")`. */
  behaviour?: Behaviour;
}

export interface FakeStats {
  /** Every connection accepted, capacity probes included. */
  accepted: number;
  /** Connections that carried at least one request. */
  connections: number;
  /** Request-carrying connections open now, and the most open at once. */
  open: number;
  maxConcurrent: number;
  /** FCGI_BEGIN_REQUEST records read. */
  requests: number;
  /** FCGI_ABORT_REQUEST records read (§5.4). */
  aborts: number;
  /** FCGI_GET_VALUES records read (§4.1). */
  probes: number;
  /** Connections the gateway closed while the fake still held them open. */
  closedByGateway: number;
  /** STDOUT content bytes handed to socket.write by streamStdout. */
  streamedBytes: number;
}

/** One request as the application sees it (§6.2), and the ways to answer it. */
export interface FakeRequest {
  readonly id: number;
  /** Order of arrival over the fake's life, from 1. */
  readonly seq: number;
  /** Which connection (from 1, in order of acceptance) carried it. */
  readonly connId: number;
  readonly role: number;
  readonly keepConn: boolean;
  readonly params: Map<string, string>;
  readonly stdin: Uint8Array;
  readonly socket: Socket;
  /** True once FCGI_ABORT_REQUEST arrived for this request. */
  readonly aborted: boolean;
  /** Resolves when the connection closes. */
  readonly closed: Promise<void>;
  /** Resolves when the gateway gives up on the request: "aborted" (ABORT_REQUEST) or "closed" (connection gone). */
  readonly gone: Promise<"aborted" | "closed">;
  /** STDOUT records (no end-of-stream record). Each write resolves once the socket takes more. */
  stdout(data: string | Uint8Array): Promise<void>;
  stderr(data: string | Uint8Array): Promise<void>;
  /** Ends STDOUT and STDERR (§3.3) and sends END_REQUEST (§5.5); then closes unless FCGI_KEEP_CONN was asked for (§5.1). */
  end(appStatus?: number, protocolStatus?: number): Promise<void>;
  /** END_REQUEST alone, as the first and only record (e.g. OVERLOADED before any output). */
  endRequest(appStatus: number, protocolStatus: number): Promise<void>;
  /** A complete CGI answer: the head (default Content-Type text/plain), a blank line, the body, then end(). */
  respond(body?: string | Uint8Array, head?: string): Promise<void>;
  /** Bytes written as they are, framing or not. */
  raw(bytes: string | Uint8Array): Promise<void>;
  /** Closes the connection (a FIN after pending writes). */
  close(): void;
  /** Does nothing: the request is left unanswered (readable name for tests). */
  silent(): void;
  /**
   * Sends `n` bytes of STDOUT in full-size records, honouring backpressure:
   * it waits for 'drain' whenever socket.write says the buffer is full, and
   * stops early if the connection closes. Resolves with the bytes handed over.
   */
  streamStdout(n: number, fill?: number): Promise<number>;
}

export interface FakeFastCgi {
  /** The unix socket path, and the same as a postern address. */
  readonly socket: string;
  readonly address: string;
  /** `127.0.0.1:PORT` when started with `tcp` or `tcpPort`. */
  readonly tcpAddress: string | undefined;
  readonly stats: FakeStats;
  /** Every request seen, in order. */
  readonly requests: FakeRequest[];
  /** Exceptions thrown by behaviours or by reading the gateway's records. */
  readonly errors: unknown[];
  /** Mutable settings. */
  options: { getValues: GetValuesAnswer; closeAfterEach: boolean };
  behaviour: Behaviour;
  /** Queues one-shot behaviours, used by the next requests in order before `behaviour`. */
  next(...behaviours: Behaviour[]): void;
  /** Resolves when `count` requests in total have been seen. */
  waitForRequests(count: number): Promise<void>;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

/** The default answer: 200, text/plain, "ok". */
export const respondOk: Behaviour = (req) => {
  void req.respond("ok");
};

interface Incoming {
  id: number;
  role: number;
  keepConn: boolean;
  params: Uint8Array[];
  stdin: Uint8Array[];
  paramsDone: boolean;
  request?: FakeRequest;
  abort: () => void;
  aborted: boolean;
  gone: Promise<"aborted" | "closed">;
}

export async function startFakeFastCgi(options: FakeOptions = {}): Promise<FakeFastCgi> {
  const dir = options.socketPath === undefined ? mkdtempSync(join(tmpdir(), "postern-fake-fcgi-")) : undefined;
  const path = options.socketPath ?? join(dir!, "fcgi.sock");
  const stats: FakeStats = {
    accepted: 0,
    connections: 0,
    open: 0,
    maxConcurrent: 0,
    requests: 0,
    aborts: 0,
    probes: 0,
    closedByGateway: 0,
    streamedBytes: 0,
  };
  const requests: FakeRequest[] = [];
  const errors: unknown[] = [];
  const queued: Behaviour[] = [];
  const sockets = new Set<Socket>();
  const waiters: { count: number; resolve: () => void }[] = [];

  const fake: FakeFastCgi = {
    socket: path,
    address: `unix:${path}`,
    tcpAddress: undefined,
    stats,
    requests,
    errors,
    options: { getValues: options.getValues ?? { FCGI_MPXS_CONNS: "0" }, closeAfterEach: options.closeAfterEach ?? false },
    behaviour: options.behaviour ?? respondOk,
    next: (...behaviours) => void queued.push(...behaviours),
    waitForRequests: (count) =>
      stats.requests >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };

  let connSeq = 0;
  const onConnection = (socket: Socket): void => {
    const connId = ++connSeq;
    stats.accepted++;
    sockets.add(socket);
    const reader = new RecordReader();
    const inFlight = new Map<number, Incoming>();
    let carriesRequests = false;
    let closedByFake = false;
    let markClosed!: () => void;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));

    const write = (bytes: Uint8Array): Promise<void> => {
      if (socket.destroyed || !socket.writable) return Promise.resolve();
      if (socket.write(bytes)) return Promise.resolve();
      return drained(socket);
    };
    const closeSocket = (): void => {
      closedByFake = true;
      socket.end();
    };

    const dispatch = (record: FcgiRecord): void => {
      const { type, requestId, content } = record;
      if (type === RecordType.GET_VALUES) {
        stats.probes++;
        answerGetValues(fake.options.getValues, content, write, closeSocket);
        return;
      }
      if (type === RecordType.BEGIN_REQUEST) {
        const { role, flags } = decodeBeginRequest(content);
        stats.requests++;
        if (!carriesRequests) {
          carriesRequests = true;
          stats.connections++;
          stats.open++;
          stats.maxConcurrent = Math.max(stats.maxConcurrent, stats.open);
        }
        let abort!: () => void;
        const aborted = new Promise<"aborted">((resolve) => (abort = () => resolve("aborted")));
        const incoming: Incoming = {
          id: requestId,
          role,
          keepConn: (flags & FCGI_KEEP_CONN) !== 0,
          params: [],
          stdin: [],
          paramsDone: false,
          abort,
          aborted: false,
          gone: Promise.race([aborted, closed.then(() => "closed" as const)]),
        };
        inFlight.set(requestId, incoming);
        return;
      }
      const incoming = inFlight.get(requestId);
      if (!incoming) return;
      if (type === RecordType.ABORT_REQUEST) {
        stats.aborts++;
        incoming.aborted = true;
        incoming.abort();
      } else if (type === RecordType.PARAMS) {
        if (content.length === 0) incoming.paramsDone = true;
        else incoming.params.push(content.slice());
      } else if (type === RecordType.STDIN) {
        if (content.length > 0) incoming.stdin.push(content.slice());
        else if (incoming.paramsDone && !incoming.request) start(incoming);
      }
    };

    const start = (incoming: Incoming): void => {
      const id = incoming.id;
      const done = (): Promise<void> => {
        if (inFlight.get(id) === incoming) inFlight.delete(id);
        if (!incoming.keepConn || fake.options.closeAfterEach) closeSocket();
        return Promise.resolve();
      };
      const request: FakeRequest = {
        id,
        seq: requests.length + 1,
        connId,
        role: incoming.role,
        keepConn: incoming.keepConn,
        params: new Map(decodeParams(concatBytes(incoming.params))),
        stdin: concatBytes(incoming.stdin),
        socket,
        get aborted() {
          return incoming.aborted;
        },
        closed,
        gone: incoming.gone,
        stdout: (data) => write(encodeStream(RecordType.STDOUT, id, bytesOf(data))),
        stderr: (data) => write(encodeStream(RecordType.STDERR, id, bytesOf(data))),
        end: (appStatus = 0, protocolStatus = ProtocolStatus.REQUEST_COMPLETE) => {
          const bytes = concatBytes([
            encodeStreamEnd(RecordType.STDOUT, id),
            encodeStreamEnd(RecordType.STDERR, id),
            encodeEndRequest(id, appStatus, protocolStatus),
          ]);
          return write(bytes).then(done);
        },
        endRequest: (appStatus, protocolStatus) => write(encodeEndRequest(id, appStatus, protocolStatus)).then(done),
        respond: async (body = "", head = "Content-Type: text/plain\r\n") => {
          await request.stdout(concatBytes([bytesOf(`${head}\r\n`), bytesOf(body)]));
          await request.end();
        },
        raw: (bytes) => write(bytesOf(bytes)),
        close: closeSocket,
        silent: () => undefined,
        streamStdout: (n, fill = 0x61) => streamStdout(socket, id, n, fill, stats),
      };
      incoming.request = request;
      requests.push(request);
      for (const w of [...waiters]) {
        if (stats.requests >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      const behaviour = queued.shift() ?? fake.behaviour;
      Promise.resolve()
        .then(() => behaviour(request))
        .catch((err: unknown) => errors.push(err));
    };

    socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk, dispatch);
      } catch (err) {
        errors.push(err);
        socket.destroy();
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      sockets.delete(socket);
      if (carriesRequests) stats.open--;
      if (!closedByFake) stats.closedByGateway++;
      markClosed();
    });
  };

  const servers: Server[] = [];
  const listen = (server: Server, ...args: unknown[]) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      (server.listen as (...a: unknown[]) => void)(...args, () => {
        server.off("error", reject);
        resolve();
      });
    });
  const unixServer = createServer(onConnection);
  servers.push(unixServer);
  await listen(unixServer, path);
  if (options.tcp || options.tcpPort !== undefined) {
    const tcpServer = createServer(onConnection);
    servers.push(tcpServer);
    await listen(tcpServer, options.tcpPort ?? 0, "127.0.0.1");
    const bound = tcpServer.address();
    (fake as { tcpAddress: string | undefined }).tcpAddress =
      bound && typeof bound === "object" ? `127.0.0.1:${bound.port}` : undefined;
  }
  return fake;
}

/** §4.1: the application answers with the values it knows among the names asked. */
function answerGetValues(
  answer: GetValuesAnswer,
  content: Uint8Array,
  write: (bytes: Uint8Array) => Promise<void>,
  close: () => void,
): void {
  if (answer === "silent") return;
  if (answer === "close") return close();
  const asked = decodeParams(content).map(([name]) => name);
  const pairs = asked.filter((name) => name in answer).map((name): [string, string] => [name, answer[name]!]);
  void write(encodeRecord(RecordType.GET_VALUES_RESULT, 0, encodeParams(pairs)));
}

async function streamStdout(socket: Socket, id: number, n: number, fill: number, stats: FakeStats): Promise<number> {
  const full = stdoutRecord(id, MAX_CONTENT_LENGTH, fill);
  let sent = 0;
  while (sent < n && !socket.destroyed && socket.writable) {
    const length = Math.min(MAX_CONTENT_LENGTH, n - sent);
    const record = length === MAX_CONTENT_LENGTH ? full : stdoutRecord(id, length, fill);
    const more = socket.write(record);
    sent += length;
    stats.streamedBytes += length;
    if (!more) await drained(socket);
  }
  return sent;
}

/** Resolves when the socket can take more bytes, or has closed. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.once("drain", done);
    socket.once("close", done);
  });
}

function stdoutRecord(id: number, length: number, fill: number): Buffer {
  const record = Buffer.alloc(HEADER_LENGTH + length + paddingFor(length));
  writeHeader(record, 0, RecordType.STDOUT, id, length, paddingFor(length));
  record.fill(fill, HEADER_LENGTH, HEADER_LENGTH + length);
  return record;
}


/** An FCGI_Header (§3.3) with every field chosen by the caller, for hand-made broken records. */
export function header(fields: { version?: number; type: number; id: number; length: number; padding?: number }): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  writeHeader(out, 0, fields.type, fields.id, fields.length, fields.padding ?? 0);
  if (fields.version !== undefined) out[0] = fields.version;
  return out;
}
