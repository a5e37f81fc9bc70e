// A WASI preview1 host (github.com/WebAssembly/WASI, legacy/preview1/docs.md)
// for CGI modules: arguments, environment, clocks, randomness, stdin, stdout
// and stderr, exit, and read-only preopened directories (files.ts) when the
// route has volumes. Nothing else of the host is reachable: no other file,
// no sockets. Every pointer, count and length a module passes is checked
// (guest-memory.ts) before anything is read, written or built from it.
// Runs anywhere WebAssembly and Web Crypto do; I/O is synchronous callbacks,
// since a module calls its imports synchronously.

import { Errno } from "./errno.ts";
import { ALL_RIGHTS, fileFunctions } from "./files.ts";
import { guestMemory } from "./guest-memory.ts";
import type { Volume } from "./volume.ts";

export { Errno };

/**
 * Where stdin comes from and stdout and stderr go. What the writes are given
 * is a view of the module's memory, good for that call only (the module
 * reuses its buffers): they copy what they keep, and only that, so a module
 * asking to write more than a route keeps costs no copy.
 */
export interface WasiIo {
  /** Up to `max` bytes of stdin; an empty array at its end. May block (the module waits). */
  readStdin(max: number): Uint8Array;
  /** What the module wrote to stdout; may block until the client takes more. */
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
  const guest = guestMemory(memory);
  const files = options.volumes?.length ? fileFunctions(options.volumes, guest) : undefined;
  const sizeOf = (list: Uint8Array[]) => list.reduce((n, s) => n + s.byteLength, 0);

  /** Writes NUL-terminated strings and their pointers (args_get, environ_get). */
  const putStrings = (list: Uint8Array[], ptrs: number, buf: number): number => {
    const table = guest.struct(ptrs, list.length * 4);
    const into = guest.bytes(buf, sizeOf(list));
    if (!table || !into) return Errno.FAULT;
    let offset = 0;
    list.forEach((s, i) => {
      table.setUint32(i * 4, (buf >>> 0) + offset, true);
      into.set(s, offset);
      offset += s.byteLength;
    });
    return Errno.SUCCESS;
  };
  const putSizes = (list: Uint8Array[], countPtr: number, sizePtr: number): number => {
    if (!guest.fits(countPtr, 4) || !guest.fits(sizePtr, 4)) return Errno.FAULT;
    guest.putU32(countPtr, list.length);
    return guest.putU32(sizePtr, sizeOf(list));
  };

  const imports: Record<string, (...args: never[]) => unknown> = {
    args_get: (argv: number, buf: number) => putStrings(args, argv, buf),
    args_sizes_get: (count: number, size: number) => putSizes(args, count, size),
    environ_get: (environ: number, buf: number) => putStrings(env, environ, buf),
    environ_sizes_get: (count: number, size: number) => putSizes(env, count, size),

    clock_res_get: (id: number, out: number) => {
      if (id < CLOCK_REALTIME || id > CLOCK_THREAD) return Errno.INVAL;
      return guest.putU64(out, 1000n);
    },
    clock_time_get: (id: number, _precision: bigint, out: number) => {
      let ns: bigint;
      if (id === CLOCK_REALTIME) ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
      else if (id === CLOCK_MONOTONIC || id === CLOCK_PROCESS || id === CLOCK_THREAD) {
        ns = BigInt(Math.round((performance.now() - started) * 1e6));
      } else return Errno.INVAL;
      return guest.putU64(out, ns);
    },
    random_get: (buf: number, len: number) => {
      const into = guest.bytes(buf, len);
      if (!into) return Errno.FAULT;
      // getRandomValues fills at most 65536 bytes a call.
      for (let off = 0; off < into.byteLength; off += 65536) crypto.getRandomValues(into.subarray(off, off + 65536));
      return Errno.SUCCESS;
    },

    fd_write: (fd: number, iovs: number, count: number, written: number) => {
      if (fd !== 1 && fd !== 2) return Errno.BADF;
      const list = guest.iovecs(iovs, count);
      if (typeof list === "number") return list;
      if (!guest.fits(written, 4)) return Errno.FAULT;
      let total = 0;
      for (const iov of list) {
        if (iov.byteLength === 0) continue;
        if (fd === 1) options.io.writeStdout(iov);
        else options.io.writeStderr(iov);
        total += iov.byteLength;
      }
      return guest.putU32(written, total);
    },
    fd_read: (fd: number, iovs: number, count: number, read: number) => {
      if (fd !== 0 && !files) return Errno.BADF;
      const list = guest.iovecs(iovs, count);
      if (typeof list === "number") return list;
      if (!guest.fits(read, 4)) return Errno.FAULT;
      if (fd !== 0) {
        const result = files?.read(fd, list) ?? Errno.BADF;
        return typeof result === "number" ? result : guest.putU32(read, result.read);
      }
      let total = 0;
      for (const iov of list) {
        if (iov.byteLength === 0) continue;
        const chunk = options.io.readStdin(iov.byteLength);
        iov.set(chunk);
        total += chunk.byteLength;
        // A short read ends this call, as read(2) would.
        if (chunk.byteLength < iov.byteLength) break;
      }
      return guest.putU32(read, total);
    },
    fd_close: (fd: number) => (fd <= 2 ? Errno.SUCCESS : (files?.fd_close(fd) ?? Errno.BADF)),
    // Filetype unknown, every right: not a tty to wasi-libc, so stdout is fully buffered.
    fd_fdstat_get: (fd: number, out: number) => {
      if (fd > 2) return files?.fd_fdstat_get(fd, out) ?? Errno.BADF;
      const fdstat = guest.struct(out, 24);
      if (!fdstat) return Errno.FAULT;
      fdstat.setUint8(0, 0); // filetype unknown
      fdstat.setUint16(2, 0, true); // flags
      fdstat.setBigUint64(8, ALL_RIGHTS, true);
      fdstat.setBigUint64(16, ALL_RIGHTS, true);
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
      const filestat = guest.bytes(out, 64);
      if (!filestat) return Errno.FAULT;
      filestat.fill(0);
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
