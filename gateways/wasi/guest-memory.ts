// A module's memory as the WASI host's calls see it: every pointer, count
// and length a module passes is checked before the host reads, writes, builds
// or copies anything from it — against the memory's bounds (EFAULT, as a
// system call given a bad pointer) and against the POSIX limits a libc
// expects, so that no number a module passes makes the host allocate in
// proportion to it. Pointers and lengths are the module's unsigned 32-bit
// values; they reach JavaScript as signed i32, hence the `>>> 0`.

import { Errno } from "./errno.ts";

/** Buffers one fd_read or fd_write may pass: IOV_MAX (POSIX <limits.h>; 1024 on Linux and in wasi-libc), EINVAL beyond, as readv(2) and writev(2). */
export const IOV_MAX = 1024;
/**
 * Bytes one read or write moves at most: a larger request is a short one, as
 * Linux cuts every read and write at MAX_RW_COUNT (read(2), NOTES); the count
 * then fits wasm32's ssize_t, which libc reads the result as.
 */
export const MAX_RW_COUNT = 0x7ffff000;
/** Longest path a call may name: PATH_MAX (4096 on Linux), ENAMETOOLONG beyond. */
export const PATH_MAX = 4096;

const decoder = new TextDecoder();

/** The checked accessors over the memory `memory()` gives (the instance's, once it exists). */
export function guestMemory(memory: () => WebAssembly.Memory) {
  /** Whether `len` bytes from `ptr` are the module's memory. */
  const fits = (ptr: number, len: number): boolean => (ptr >>> 0) + (len >>> 0) <= memory().buffer.byteLength;
  return {
    fits,
    /** `len` bytes from `ptr`, a view into memory; null when they are not all the module's. */
    bytes(ptr: number, len: number): Uint8Array | null {
      return fits(ptr, len) ? new Uint8Array(memory().buffer, ptr >>> 0, len >>> 0) : null;
    },
    /** A DataView of `len` bytes from `ptr`, for a struct the call fills in; null as for bytes(). */
    struct(ptr: number, len: number): DataView | null {
      return fits(ptr, len) ? new DataView(memory().buffer, ptr >>> 0, len) : null;
    },
    /** Stores a call's u32 result at `out`: SUCCESS, or EFAULT when `out` is not the module's. */
    putU32(out: number, value: number): number {
      if (!fits(out, 4)) return Errno.FAULT;
      new DataView(memory().buffer).setUint32(out >>> 0, value, true);
      return Errno.SUCCESS;
    },
    putU64(out: number, value: bigint): number {
      if (!fits(out, 8)) return Errno.FAULT;
      new DataView(memory().buffer).setBigUint64(out >>> 0, value, true);
      return Errno.SUCCESS;
    },
    /** The UTF-8 path of `len` bytes at `ptr`, or ENAMETOOLONG past PATH_MAX, or EFAULT. */
    path(ptr: number, len: number): string | number {
      if (len >>> 0 > PATH_MAX) return Errno.NAMETOOLONG;
      if (!fits(ptr, len)) return Errno.FAULT;
      return decoder.decode(new Uint8Array(memory().buffer, ptr >>> 0, len >>> 0));
    },
    /**
     * The buffers of the iovec list at `iovs` (preview1 `iovec` and `ciovec`:
     * buf u32, len u32) as views into memory, their total cut at
     * MAX_RW_COUNT; EINVAL for more than IOV_MAX buffers, EFAULT for a list or
     * a buffer that is not the module's.
     */
    iovecs(iovs: number, count: number): Uint8Array[] | number {
      count >>>= 0;
      if (count > IOV_MAX) return Errno.INVAL;
      if (!fits(iovs, count * 8)) return Errno.FAULT;
      const buffer = memory().buffer;
      const table = new DataView(buffer, iovs >>> 0, count * 8);
      const list: Uint8Array[] = [];
      let left = MAX_RW_COUNT;
      for (let i = 0; i < count; i++) {
        const ptr = table.getUint32(i * 8, true);
        const len = table.getUint32(i * 8 + 4, true);
        if (!fits(ptr, len)) return Errno.FAULT;
        const taken = Math.min(len, left);
        list.push(new Uint8Array(buffer, ptr, taken));
        left -= taken;
      }
      return list;
    },
  };
}

export type GuestMemory = ReturnType<typeof guestMemory>;
