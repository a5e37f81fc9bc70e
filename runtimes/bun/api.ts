// The part of the Bun namespace (bun.sh/docs/api) postern calls, typed here
// rather than through bun-types, which the Node type-check of this
// repository does not load. Every Bun.* call postern makes goes through
// `Bun` below, from runtimes/bun/ only.

export interface BunFileSink {
  write(chunk: Uint8Array): number | Promise<number>;
  flush(): number | Promise<number>;
  end(): number | Promise<number>;
}

export interface BunSubprocess {
  readonly pid: number;
  readonly stdin: BunFileSink | undefined;
  readonly stdout: ReadableStream<Uint8Array> | undefined;
  readonly stderr: ReadableStream<Uint8Array> | undefined;
  readonly exited: Promise<number>;
  readonly signalCode: string | null;
  readonly exitCode: number | null;
  kill(signal?: string): void;
}

type Stdio = "pipe" | "inherit" | "ignore";

export interface BunSpawnOptions {
  cmd: string[];
  env: Record<string, string>;
  cwd?: string;
  stdin: Stdio;
  stdout: Stdio;
  stderr: Stdio;
  detached?: boolean;
  /** Supplementary groups are cleared along with them (checked: `id` shows the group alone). */
  uid?: number;
  gid?: number;
}

export interface BunServer {
  readonly port: number;
  readonly hostname: string;
  requestIP(request: Request): { address: string; port: number } | null;
  stop(closeActiveConnections?: boolean): Promise<void>;
  /** Answers a WebSocket upgrade request with a 101 carrying `headers`; the socket's `data` is `data`. False when the request is no upgrade. */
  upgrade(request: Request, options: { data: unknown; headers?: Record<string, string> }): boolean;
}

/** A server-side WebSocket of Bun.serve. */
export interface BunWebSocket<T> {
  readonly data: T;
  send(data: string | Uint8Array): number;
  close(code?: number, reason?: string): void;
}

/** Bun.serve's `websocket` handlers. */
export interface BunWebSocketHandlers<T> {
  open(ws: BunWebSocket<T>): void;
  message(ws: BunWebSocket<T>, message: string | Uint8Array): void;
  close(ws: BunWebSocket<T>, code: number, reason: string): void;
}

export interface BunTls {
  cert: string;
  key: string;
  ca?: string;
  serverName?: string;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  /** OpenSSL's SSL_OP_* bits (node:constants), here to turn TLS 1.0 and 1.1 off. */
  secureOptions?: number;
}

export interface BunServeOptions {
  hostname?: string;
  port?: number;
  unix?: string;
  maxRequestBodySize?: number;
  /** Seconds a connection may be idle, at most 255 (not while its head arrives: Bun's own 10 s hold then). */
  idleTimeout?: number;
  development?: boolean;
  /** PEM text; several, each with its serverName, for SNI. */
  tls?: BunTls | BunTls[];
  /** SO_REUSEPORT, so that a second server can bind the address while the first finishes. */
  reusePort?: boolean;
  error?(error: Error): Response;
  /** Undefined: the request was upgraded (server.upgrade). */
  fetch(request: Request, server: BunServer): Response | undefined | Promise<Response | undefined>;
  websocket?: BunWebSocketHandlers<never>;
}

export interface BunSocket {
  write(bytes: Uint8Array): number;
  pause(): void;
  resume(): void;
  terminate(): void;
  setNoDelay?(noDelay?: boolean): void;
}

export interface BunSocketHandlers {
  data(socket: BunSocket, chunk: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket): void;
  error(socket: BunSocket, error: Error): void;
}

export interface BunNamespace {
  connect(options: ({ hostname: string; port: number } | { unix: string }) & { socket: BunSocketHandlers }): Promise<BunSocket>;
  spawn(options: BunSpawnOptions): BunSubprocess;
  serve(options: BunServeOptions): BunServer;
  env: Record<string, string | undefined>;
  write(destination: unknown, data: string): Promise<number>;
  stdout: unknown;
  stderr: unknown;
}

export const Bun = (globalThis as unknown as { Bun: BunNamespace }).Bun;
