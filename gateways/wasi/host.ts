// A WASI preview1 host (github.com/WebAssembly/WASI, legacy/preview1/docs.md)
// for CGI modules: arguments, environment, clocks, randomness, stdin, stdout
// and stderr, exit, and read-only preopened directories (files.ts) when the
// route has volumes. Nothing else of the host is reachable: no other file,
// no sockets.
// Runs anywhere WebAssembly and Web Crypto do; I/O is synchronous callbacks,
// since a module calls its imports synchronously.

import { Errno } from "./errno.ts";
import { ALL_RIGHTS, fileFunctions } from "./files.ts";
import type { Volume } from "./volume.ts";

export { Errno };

export interface WasiIo {
  /** Up to `max` bytes of stdin; an empty array at its end. May block (the module waits). */
  readStdin(max: number): Uint8Array;
  /** Takes what the module wrote to stdout; may block until the client takes more. */
  writeStdout(bytes: Uint8Array): void;
  writeStderr(bytes: Uint8Array): void;
}

export interface WasiOptions {
  /** The arguments, then the environment ("NAME=value"), each NUL-terminated, in one buffer (see encodeStrings). */
  strings: Uint8Array;
  argc: number;
  envc: number;
  io: WasiIo;
  /** Read-only directories, preopened from descriptor 3 on. */
  volumes?: Volume[];
  /**
   * Told the status proc_exit was called with, before the WasiExit that ends
   * the module is thrown (a module can catch a host's exception, so the
   * caller must not rely on seeing it).
   */
  onExit?(code: number): void;
}

/** Thrown by proc_exit: the module ended with this status. */
export class WasiExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = "WasiExit";
  }
}

const encoder = new TextEncoder();

/** Arguments and environment as WasiOptions.strings takes them. */
export function encodeStrings(args: string[], env: Record<string, string>, into: Uint8Array): { length: number; argc: number; envc: number } {
  let text = "";
  for (const arg of args) text += `${arg}\0`;
  let envc = 0;
  for (const name in env) {
    text += `${name}=${env[name]}\0`;
    envc++;
  }
  const { read, written } = encoder.encodeInto(text, into);
  if (read !== text.length) throw new Error(`arguments and environment over ${into.byteLength} bytes`);
  return { length: written, argc: args.length, envc };
}

/** The first `count` NUL-terminated strings of `bytes` from `offset`, NULs included, and the offset after them. */
export function splitStrings(bytes: Uint8Array, offset: number, count: number): [Uint8Array[], number] {
  const list: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const nul = bytes.indexOf(0, offset);
    if (nul < 0) throw new Error("malformed strings");
    list.push(bytes.subarray(offset, nul + 1));
    offset = nul + 1;
  }
  return [list, offset];
}
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_PROCESS = 2;
const CLOCK_THREAD = 3;

/**
 * The `wasi_snapshot_preview1` import object for one instance. `memory()`
 * gives the instance's memory once it exists (imports are made before).
 */
export function wasiImports(options: WasiOptions, memory: () => WebAssembly.Memory): Record<string, (...args: never[]) => unknown> {
  const [args, end] = splitStrings(options.strings, 0, options.argc);
  const [env] = splitStrings(options.strings, end, options.envc);
  const started = performance.now();
  const view = () => new DataView(memory().buffer);
  const files = options.volumes?.length ? fileFunctions(options.volumes, memory) : undefined;
  const bytes = () => new Uint8Array(memory().buffer);

  /** Writes NUL-terminated strings and their pointers (args_get, environ_get). */
  const putStrings = (list: Uint8Array[], ptrs: number, buf: number): number => {
    const v = view();
    const mem = bytes();
    for (const s of list) {
      v.setUint32(ptrs, buf, true);
      mem.set(s, buf);
      ptrs += 4;
      buf += s.byteLength;
    }
    return Errno.SUCCESS;
  };
  const putSizes = (list: Uint8Array[], countPtr: number, sizePtr: number): number => {
    const v = view();
    v.setUint32(countPtr, list.length, true);
    v.setUint32(sizePtr, list.reduce((n, s) => n + s.byteLength, 0), true);
    return Errno.SUCCESS;
  };
  /** The iovec list at `iovs` as views into memory (preview1 `ciovec`: buf u32, len u32). */
  const iovecs = (iovs: number, count: number): Uint8Array[] => {
    const v = view();
    const buffer = memory().buffer;
    const list: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const ptr = v.getUint32(iovs + i * 8, true);
      const len = v.getUint32(iovs + i * 8 + 4, true);
      list.push(new Uint8Array(buffer, ptr, len));
    }
    return list;
  };

  const imports: Record<string, (...args: never[]) => unknown> = {
    args_get: (argv: number, buf: number) => putStrings(args, argv, buf),
    args_sizes_get: (count: number, size: number) => putSizes(args, count, size),
    environ_get: (environ: number, buf: number) => putStrings(env, environ, buf),
    environ_sizes_get: (count: number, size: number) => putSizes(env, count, size),

    clock_res_get: (id: number, out: number) => {
      if (id < CLOCK_REALTIME || id > CLOCK_THREAD) return Errno.INVAL;
      view().setBigUint64(out, 1000n, true);
      return Errno.SUCCESS;
    },
    clock_time_get: (id: number, _precision: bigint, out: number) => {
      let ns: bigint;
      if (id === CLOCK_REALTIME) ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
      else if (id === CLOCK_MONOTONIC || id === CLOCK_PROCESS || id === CLOCK_THREAD) {
        ns = BigInt(Math.round((performance.now() - started) * 1e6));
      } else return Errno.INVAL;
      view().setBigUint64(out, ns, true);
      return Errno.SUCCESS;
    },
    random_get: (buf: number, len: number) => {
      buf >>>= 0;
      len >>>= 0;
      // getRandomValues fills at most 65536 bytes a call.
      for (let off = 0; off < len; off += 65536) crypto.getRandomValues(new Uint8Array(memory().buffer, buf + off, Math.min(65536, len - off)));
      return Errno.SUCCESS;
    },

    fd_write: (fd: number, iovs: number, count: number, written: number) => {
      if (fd !== 1 && fd !== 2) return Errno.BADF;
      let total = 0;
      for (const iov of iovecs(iovs, count)) {
        if (iov.byteLength === 0) continue;
        // A copy: the module reuses its buffers, and the bytes travel on.
        if (fd === 1) options.io.writeStdout(iov.slice());
        else options.io.writeStderr(iov.slice());
        total += iov.byteLength;
      }
      view().setUint32(written, total, true);
      return Errno.SUCCESS;
    },
    fd_read: (fd: number, iovs: number, count: number, read: number) => {
      if (fd !== 0) {
        const result = files?.read(fd, iovecs(iovs, count)) ?? Errno.BADF;
        if (typeof result === "number") return result;
        view().setUint32(read, result.read, true);
        return Errno.SUCCESS;
      }
      let total = 0;
      for (const iov of iovecs(iovs, count)) {
        if (iov.byteLength === 0) continue;
        const chunk = options.io.readStdin(iov.byteLength);
        new Uint8Array(memory().buffer, iov.byteOffset, chunk.byteLength).set(chunk);
        total += chunk.byteLength;
        // A short read ends this call, as read(2) would.
        if (chunk.byteLength < iov.byteLength) break;
      }
      view().setUint32(read, total, true);
      return Errno.SUCCESS;
    },
    fd_close: (fd: number) => (fd <= 2 ? Errno.SUCCESS : (files?.fd_close(fd) ?? Errno.BADF)),
    // Filetype unknown, every right: not a tty to wasi-libc, so stdout is fully buffered.
    fd_fdstat_get: (fd: number, out: number) => {
      if (fd > 2) return files?.fd_fdstat_get(fd, out) ?? Errno.BADF;
      const v = view();
      v.setUint8(out, 0); // filetype unknown
      v.setUint16(out + 2, 0, true); // flags
      v.setBigUint64(out + 8, ALL_RIGHTS, true);
      v.setBigUint64(out + 16, ALL_RIGHTS, true);
      return Errno.SUCCESS;
    },
    fd_fdstat_set_flags: (fd: number) => (fd <= 2 ? Errno.SUCCESS : Errno.BADF),
    fd_seek: (fd: number, offset: bigint, whence: number, out: number) =>
      fd <= 2 ? Errno.SPIPE : (files?.fd_seek(fd, offset, whence, out) ?? Errno.BADF),
    fd_tell: (fd: number, out: number) => (fd <= 2 ? Errno.SPIPE : (files?.fd_tell(fd, out) ?? Errno.BADF)),
    fd_sync: (fd: number) => (fd <= 2 ? Errno.SUCCESS : Errno.BADF),
    fd_datasync: (fd: number) => (fd <= 2 ? Errno.SUCCESS : Errno.BADF),
    // wasi-libc asks for preopened directories from fd 3 up until EBADF.
    fd_prestat_get: (fd: number, out: number) => files?.fd_prestat_get(fd, out) ?? Errno.BADF,
    fd_prestat_dir_name: (fd: number, path: number, len: number) => files?.fd_prestat_dir_name(fd, path, len) ?? Errno.BADF,
    path_open: (fd: number, dirflags: number, path: number, len: number, oflags: number, base: bigint, inheriting: bigint, fdflags: number, out: number) =>
      files?.path_open(fd, dirflags, path, len, oflags, base, inheriting, fdflags, out) ?? Errno.BADF,
    path_filestat_get: (fd: number, flags: number, path: number, len: number, out: number) =>
      files?.path_filestat_get(fd, flags, path, len, out) ?? Errno.BADF,
    fd_filestat_get: (fd: number, out: number) => {
      if (fd > 2) return files?.fd_filestat_get(fd, out) ?? Errno.BADF;
      // fstat on stdio succeeds (CPython's startup treats EBADF as fatal): all zero, filetype unknown.
      new Uint8Array(memory().buffer, out >>> 0, 64).fill(0);
      return Errno.SUCCESS;
    },
    fd_readdir: (fd: number, buf: number, len: number, cookie: bigint, used: number) => files?.fd_readdir(fd, buf, len, cookie, used) ?? Errno.BADF,

    proc_exit: (code: number) => {
      options.onExit?.(code);
      throw new WasiExit(code);
    },
    sched_yield: () => Errno.SUCCESS,
  };

  // Everything else preview1 has (paths, sockets, polling) is not available.
  return new Proxy(imports, {
    get: (target, name) => target[name as string] ?? (() => Errno.NOSYS),
  });
}
