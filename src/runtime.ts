// The Runtime interface: the only door from postern's core and gateways to the
// outside world. Each runtime (runtimes/<name>/) implements it with its own
// platform calls; everything under src/ and gateways/ sees only this.

import type { Address } from "./address.ts";
import type { ConnInfo } from "./cgi/conn.ts";
import type { ClientTarget } from "./cgi/target.ts";

export type RuntimeName = "node" | "deno" | "bun" | "workerd";

/**
 * A byte stream in both directions, such as a TCP or unix-socket connection.
 *
 * Not a pair of Web streams on purpose: a request to a backend is one write
 * and one or two reads, and Web streams' per-chunk machinery cost a third of
 * the FastCGI gateway's throughput on Node (measured: 16k vs 23k req/s to
 * php-fpm). Backpressure holds both ways: the transport stops reading while
 * chunks wait unread, and `write` settles only when it can take more.
 */
export interface Duplex {
  /** The next chunk, or null once the peer has closed its side. One read at a time; rejects when the connection fails. */
  read(): Promise<Uint8Array | null>;
  /** Sends bytes; settles when the transport can take more. */
  write(bytes: Uint8Array): Promise<void>;
  /** Tears the connection down at once; a pending read resolves null, later writes fail. */
  close(): void;
  /** True once the peer closed its side or the connection failed, even while nobody reads. */
  readonly closed: boolean;
}

/** What a runtime's server hands a request's handler as its hono env. */
export interface ServeEnv {
  conn: ConnInfo;
  /**
   * Set when the server rewrote the request URL before the app saw it (its
   * path normalised, src/paths.ts): that URL, and the path and query of the
   * client's, which REQUEST_URI keeps.
   */
  clientTarget?: ClientTarget;
  /**
   * Calls `listener` if the client goes away before its response is complete;
   * returns the unsubscribe function. Cheaper than Request.signal where the
   * runtime makes that costly (Node).
   */
  onClientGone?(listener: () => void): () => void;
  /**
   * CGI meta-variables a route module set for the backend: REMOTE_USER and
   * AUTH_TYPE once Basic authentication passed (RFC 3875 §4.1.1, §4.1.11),
   * a FastCGI authorizer's `Variable-*` (FastCGI spec §6.3). Every gateway's
   * environment takes them (src/cgi/env.ts).
   */
  variables?: Readonly<Record<string, string>>;
  /**
   * Present where the server can hand the client's connection over to a
   * route (an HTTP/1.1 request with `Upgrade`, such as a WebSocket's): a
   * route that got the backend's 101 calls it, and the server then relays
   * the connection both ways, ignoring the Response the app returns.
   */
  upgrade?: UpgradeHandoff;
}

/** How a route hands an upgraded connection to the server (ServeEnv.upgrade). */
export interface UpgradeHandoff {
  /** The backend switched protocols: `tunnel` is its answer and connection, now the server's to relay and close. */
  accept(tunnel: UpgradeTunnel): void;
  /**
   * The server relays WebSocket messages, not bytes (Deno, Bun): an
   * extension (permessage-deflate, RFC 7692) cannot be agreed end to end
   * through it, so none is offered to the backend (RFC 6455 §9.1).
   */
  messages?: boolean;
}

/** A backend connection that switched protocols (RFC 9110 §7.8). */
export interface UpgradeTunnel {
  /** The 101 answer's fields for the client (Connection and Upgrade among them). */
  headers: [string, string][];
  /** Bytes the backend sent after its 101, first of the new protocol. */
  rest: Uint8Array;
  /** The backend connection; closing it ends the tunnel's hold on the backend. */
  duplex: Duplex;
}

export interface SpawnOptions {
  /** The complete environment of the child: nothing of the host leaks in unless listed here. */
  env: Record<string, string>;
  cwd?: string;
  /** What the child's stdin, stdout and stderr are connected to. */
  stdin?: "pipe" | "null";
  stdout?: "pipe" | "null" | "inherit";
  stderr?: "pipe" | "null" | "inherit";
  /**
   * Run the child in a process group of its own, so that `kill` reaches every
   * process it starts. Off by default: a child in the gateway's group also
   * receives a terminal's Ctrl-C, and does not outlive the gateway there.
   */
  group?: boolean;
  /**
   * Run the child as this user and group (both, or neither), with no
   * supplementary group. Numbers postern resolved and checked itself
   * (src/accounts.ts): a runtime may take any number, even one that names
   * nobody, so it is never given one unchecked.
   */
  user?: ProcessUser;
}

/** A user and group id to run a process as. */
export interface ProcessUser {
  uid: number;
  gid: number;
}

/**
 * The signals postern sends the processes it starts. SIGUSR1 asks a WSGI
 * worker for its threads' stacks (Python's faulthandler) before a timeout
 * kills it.
 */
export type Signal = "SIGTERM" | "SIGKILL" | "SIGINT" | "SIGHUP" | "SIGUSR1";

export interface Subprocess {
  readonly pid: number;
  readonly stdin: WritableStream<Uint8Array> | null;
  readonly stdout: ReadableStream<Uint8Array> | null;
  readonly stderr: ReadableStream<Uint8Array> | null;
  /** Resolves with the exit code, or 128 + signal number when a signal ended it. */
  readonly exited: Promise<number>;
  /**
   * Signals the child, or its whole process group when it was started with
   * `group` (even after the child itself exited, while others remain in it).
   */
  kill(signal?: Signal): void;
}

export interface FileStat {
  isFile: boolean;
  isDirectory: boolean;
  size: number;
  mtimeMs: number;
  /** Permission bits (0o7777), as stat(2) st_mode & 07777. */
  mode: number;
  /** stat(2) st_dev and st_ino: together they name one file, whatever path leads to it. */
  dev: bigint;
  ino: bigint;
  /** stat(2) st_uid: the owner, which `follow_symlinks = "owner"` compares between a symlink and its target. */
  uid: number;
}

/**
 * A file opened for reading: its stat and bytes are those of the file opened,
 * whatever its name has come to point at since (CWE-367: check what was
 * opened, not what a name meant a moment before).
 */
export interface OpenedFile {
  /** fstat(2) of the opened file. */
  readonly stat: FileStat;
  /**
   * Bytes `start` to `end` inclusive (the whole file when absent) from this
   * descriptor; the file is closed when the stream ends, fails or is cancelled.
   */
  readStream(range?: { start: number; end: number }): ReadableStream<Uint8Array>;
  /** Closes the file; a second call does nothing. */
  close(): Promise<void>;
}

/**
 * A scratch file private to postern (mode 0600, alone in a 0700 directory):
 * request bodies and answers held for a slow side that do not fit in memory,
 * as nginx's client_body_temp_path and proxy_temp_path.
 */
export interface TempFile {
  /** Writes all of `bytes` at byte `position`. */
  write(bytes: Uint8Array, position: number): Promise<void>;
  /** Up to `length` bytes from byte `position` (fewer only at the end of the file). */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Closes the file and deletes it with its directory; a second call does nothing. */
  remove(): Promise<void>;
}

/**
 * A file opened for appending (O_APPEND, POSIX write(2)): every write lands at
 * its end, even while another descriptor appends to it too.
 */
export interface AppendFile {
  /** Appends all of `bytes`. */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the file; a second call does nothing. */
  close(): Promise<void>;
}

export interface FileSystem {
  /** Follows symlinks; resolves null when nothing is there. */
  stat(path: string): Promise<FileStat | null>;
  /** As stat, but a final symlink is described itself (lstat(2)). */
  lstat(path: string): Promise<FileStat | null>;
  /**
   * Opens a file for reading; null when it cannot be. Where the platform can,
   * the open never waits for a writer (a FIFO swapped in is opened at once).
   */
  openRead(path: string): Promise<OpenedFile | null>;
  /** The names in a directory; null when it is not one. */
  list(path: string): Promise<string[] | null>;
  /** The canonical absolute path with every symlink resolved; null when it does not exist. */
  realpath(path: string): Promise<string | null>;
  /** The bytes of a file from `start` to `end` inclusive (the whole file when absent). */
  readStream(path: string, range?: { start: number; end: number }): ReadableStream<Uint8Array>;
  /**
   * A fresh private directory (for backend sockets); removed by `removeDir`.
   * With `owner` it belongs to that user and group (a process started as
   * them creates its socket there); only root can give it away.
   */
  makeTempDir(prefix: string, owner?: ProcessUser): Promise<string>;
  removeDir(path: string): Promise<void>;
  /** A new private scratch file in the system's temporary directory (TMPDIR), in a directory named `prefix` + a random suffix. */
  createTempFile(prefix: string): Promise<TempFile>;
  /**
   * Opens a file to append to, creating it with `mode` (less the umask) when
   * it is missing; rejects with the platform's error, whose `code` names the
   * errno (ENOENT, EACCES, EISDIR, ...).
   */
  openAppend(path: string, mode: number): Promise<AppendFile>;
}

/**
 * A thread running one of postern's modules, as a Web Worker does: the module
 * talks through `globalThis.postMessage` and `globalThis.onmessage`.
 */
export interface WorkerThread {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called once when the thread ends: with the error that ended it, if one did. */
  onExit(listener: (error?: Error) => void): void;
  /** Stops the thread at once, even in the middle of a computation. */
  terminate(): Promise<void>;
}

/**
 * The hashes of Apache's htpasswd that WebCrypto cannot compute: each gives
 * the hash of `password` with the salt and parameters of `stored`, for the
 * caller to compare in constant time.
 */
export interface PasswordHashes {
  /** bcrypt ($2y$, $2a$, $2b$): `password` as UTF-8, its first 72 bytes. */
  bcrypt(password: string, stored: string): Promise<string>;
  /** Apache's MD5 crypt ($apr1$): `password` as the bytes it is given, one char per byte (codes 0-255). */
  apr1(password: string, stored: string): string;
}

/** A content coding postern compresses answers to (RFC 9110 §8.4.1; zstd: RFC 8878, br: RFC 7932, gzip: RFC 1952). */
export type Encoding = "zstd" | "br" | "gzip";

/** The compressors a runtime has natively (node:zlib on Node, Bun and Deno). */
export interface Compression {
  /** The encodings it compresses to: zstd only where the platform's zlib has it (Node >= 22.15, Bun, Deno). */
  readonly formats: readonly Encoding[];
  /**
   * A stream compressing to `format` (one of `formats`) at `level`. With
   * `flush`, what each chunk written compresses to is sent out before the
   * next chunk arrives (zlib's Z_SYNC_FLUSH and its brotli and zstd
   * equivalents), so that a backend's streamed answer reaches the client as
   * it is produced.
   */
  compressor(format: Encoding, options: { level: number; flush: boolean }): TransformStream<Uint8Array, Uint8Array>;
}

export interface Runtime {
  readonly name: RuntimeName;
  /**
   * Opens a stream connection: TCP everywhere, unix sockets where the
   * platform has them. With `timeoutMs`, an attempt still pending then is
   * abandoned (its socket destroyed) and the promise rejects with an Error
   * named "TimeoutError".
   */
  connect(addr: Address, options?: { timeoutMs?: number }): Promise<Duplex>;
  /** Unix-domain sockets can be connected to (false on workerd). */
  readonly unixSockets: boolean;
  /**
   * Connections belong to the request that opened them (workerd: "Cannot
   * perform I/O on behalf of a different request"): none is kept for the next.
   */
  readonly requestScopedIO?: boolean;
  /** Starts a process; absent where processes cannot be spawned (workerd). */
  spawn?(cmd: string[], opts: SpawnOptions): Subprocess;
  /** The user id postern runs as, where it can spawn: as root (0), what it starts runs as another user. */
  uid?(): number;
  /**
   * WebAssembly modules the bundle imported statically, by name: where a
   * module cannot be compiled from bytes at run time (workerd), a `wasi`
   * route's `module` names one of these rather than a file. Such a module is
   * run as it was built: rewriting its memory (max_memory, reuse) is for the
   * build step that bundles it.
   */
  wasmModules?: Map<string, WebAssembly.Module>;
  /** Starts a thread running the module at `url`; absent where there are none. */
  startWorker?(url: URL): WorkerThread;
  /** The local filesystem; absent where there is none (workerd). */
  fs?: FileSystem;
  /** Apache htpasswd's hash formats that WebCrypto lacks; absent where no library for them loads (workerd). */
  passwordHashes?: PasswordHashes;
  /** A variable of the gateway's own environment (for explicitly allow-listed pass-through only). */
  getEnv(name: string): string | undefined;
  /** Writes one line to stdout, where `access_log = "-"` sends the access log. */
  logAccess(line: string): void;
  /** Writes one line to stderr, where `error_log = "-"` sends the error log. */
  logError(line: string): void;
  /**
   * Compressors for answers; absent where postern must not compress:
   * Workers compresses every answer itself (a body already compressed would
   * be compressed twice).
   */
  compression?: Compression;
  /** The bytes of this process resident in memory, for the metrics; absent where the platform does not tell (workerd). */
  residentMemory?(): number;
}
