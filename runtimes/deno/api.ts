// The part of the Deno namespace (docs.deno.com/api/deno) postern calls,
// typed here rather than through Deno's own declarations, which the Node
// type-check of this repository does not load. Every Deno.* call postern
// makes goes through `Deno` below, from runtimes/deno/ only.

export interface DenoConn {
  read(into: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}

export interface DenoChildProcess {
  readonly pid: number;
  readonly stdin: WritableStream<Uint8Array>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly status: Promise<{ success: boolean; code: number; signal: string | null }>;
  kill(signal?: string): void;
}

type Stdio = "piped" | "inherit" | "null";

export interface DenoCommandOptions {
  args: string[];
  env: Record<string, string>;
  clearEnv: boolean;
  cwd?: string;
  stdin: Stdio;
  stdout: Stdio;
  stderr: Stdio;
  detached?: boolean;
  /** Rust's Command underneath: with uid set, supplementary groups are cleared (setgroups(0)) before setuid. */
  uid?: number;
  gid?: number;
}

export interface DenoFileInfo {
  isFile: boolean;
  isDirectory: boolean;
  size: number;
  mtime: Date | null;
  mode: number | null;
  isSocket: boolean | null;
  dev: number;
  /** Null where the platform has no inode numbers (Windows). */
  ino: number | null;
  /** Null on Windows. */
  uid: number | null;
}

export interface DenoFsFile {
  readonly readable: ReadableStream<Uint8Array>;
  seek(offset: number, whence: number): Promise<number>;
  read(into: Uint8Array): Promise<number | null>;
  stat(): Promise<DenoFileInfo>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

export interface DenoServeInfo {
  remoteAddr: { transport: string; hostname?: string; port?: number; path?: string };
  completed: Promise<void>;
}

export interface DenoHttpServer {
  readonly addr: { transport: string; hostname?: string; port?: number; path?: string };
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}

export interface DenoServeOptions {
  hostname?: string;
  port?: number;
  path?: string;
  transport?: "unix";
  /** PEM text: with both, the server speaks TLS, offering h2 and http/1.1 in ALPN. */
  cert?: string;
  key?: string;
  /** SO_REUSEPORT, so that a second server can bind the address while the first finishes. */
  reusePort?: boolean;
  onListen?(addr: { hostname?: string; port?: number; path?: string }): void;
  onError?(error: unknown): Response | Promise<Response>;
}

export interface DenoNamespace {
  connect(
    options: ({ hostname: string; port: number; transport?: "tcp" } | { transport: "unix"; path: string }) & { signal?: AbortSignal },
  ): Promise<DenoConn>;
  Command: new (command: string, options: DenoCommandOptions) => { spawn(): DenoChildProcess };
  readonly pid: number;
  /** Signal 0 only checks that the process exists (kill(2)): NotFound when it does not. */
  kill(pid: number, signal: string | 0): void;
  stat(path: string): Promise<DenoFileInfo>;
  lstat(path: string): Promise<DenoFileInfo>;
  readDir(path: string): AsyncIterable<{ name: string }>;
  realPath(path: string): Promise<string>;
  open(
    path: string,
    options: { read: true; write?: boolean; createNew?: boolean; mode?: number } | { append: true; create: true; mode: number },
  ): Promise<DenoFsFile>;
  makeTempDir(options: { dir?: string; prefix: string }): Promise<string>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  uid(): number | null;
  memoryUsage(): { rss: number };
  remove(path: string, options?: { recursive: boolean }): Promise<void>;
  errors: { NotFound: new () => Error; ConnectionRefused: new () => Error; WouldBlock: new () => Error };
  env: { get(name: string): string | undefined };
  stdout: { writeSync(bytes: Uint8Array): number };
  stderr: { writeSync(bytes: Uint8Array): number };
  serve(options: DenoServeOptions, handler: (request: Request, info: DenoServeInfo) => Response | Promise<Response>): DenoHttpServer;
  SeekMode: { Start: number };
  /** Answers a WebSocket upgrade request from Deno.serve with the 101 (`response`) and the socket. */
  upgradeWebSocket(request: Request, options?: { protocol?: string }): { socket: WebSocket; response: Response };
}

export const Deno = (globalThis as unknown as { Deno: DenoNamespace }).Deno;
