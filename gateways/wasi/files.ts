// The file side of the WASI preview1 host: read-only preopened directories
// (volume.ts trees) from descriptor 3 on, and the files opened under them.
// Paths are resolved inside the tree only: ".." never leaves a preopen
// (ENOTCAPABLE), and nothing can be created, written or removed (EROFS).
// Pointers and lengths are checked by guest-memory.ts before use.

import { Errno } from "./errno.ts";
import type { GuestMemory } from "./guest-memory.ts";
import type { Volume, VolumeNode } from "./volume.ts";

const FILETYPE_DIRECTORY = 3;
const FILETYPE_REGULAR_FILE = 4;
// path_open's oflags and fdflags that would change something.
const O_CREAT = 1;
const O_DIRECTORY = 2;
const O_EXCL = 4;
const O_TRUNC = 8;
const FDFLAG_APPEND = 1;
/** Every right there is (bits 0 to 29), for what a descriptor says it allows. */
export const ALL_RIGHTS = (1n << 30n) - 1n;
/** Open files a run may hold at once (EMFILE beyond). */
const MAX_OPEN = 1024;
/** Most a readdir call fills at once, whatever buffer the module offers. */
const MAX_READDIR = 64 * 1024;
const encoder = new TextEncoder();

interface Open {
  node: VolumeNode;
  /** Read position of a file. */
  position: number;
  /** The guest path of a preopened directory. */
  preopen?: Uint8Array;
}

/** WASI functions for the files of one run, over the instance's memory. */
export function fileFunctions(volumes: Volume[], guest: GuestMemory) {
  const table = new Map<number, Open>();
  volumes.forEach((volume, i) => table.set(3 + i, { node: volume.root, position: 0, preopen: encoder.encode(volume.guestPath) }));
  let nextFd = 3 + volumes.length;

  /** The node at the path of `pathLen` bytes at `pathPtr` under the directory open as `fd`, or an errno. */
  const resolve = (fd: number, pathPtr: number, pathLen: number): VolumeNode | number => {
    const dir = table.get(fd);
    if (!dir) return Errno.BADF;
    if (dir.node.kind !== "dir") return Errno.NOTDIR;
    const path = guest.path(pathPtr, pathLen);
    if (typeof path === "number") return path;
    if (path.startsWith("/")) return Errno.NOTCAPABLE;
    const stack: VolumeNode[] = [dir.node];
    for (const segment of path.split("/")) {
      if (segment === "" || segment === ".") continue;
      if (segment === "..") {
        if (stack[stack.length - 1]!.kind !== "dir") return Errno.NOTDIR;
        if (stack.length === 1) return Errno.NOTCAPABLE;
        stack.pop();
        continue;
      }
      const current = stack[stack.length - 1]!;
      if (current.kind !== "dir") return Errno.NOTDIR;
      if (!Object.hasOwn(current.entries, segment)) return Errno.NOENT;
      stack.push(current.entries[segment]!);
    }
    return stack[stack.length - 1]!;
  };

  /** filestat (preview1): dev, ino, filetype, nlink, size, atim, mtim, ctim. */
  const putFilestat = (node: VolumeNode, out: number): number => {
    const v = guest.struct(out, 64);
    if (!v) return Errno.FAULT;
    for (let offset = 0; offset < 64; offset += 8) v.setBigUint64(offset, 0n, true);
    v.setUint8(16, node.kind === "dir" ? FILETYPE_DIRECTORY : FILETYPE_REGULAR_FILE);
    v.setBigUint64(24, 1n, true);
    if (node.kind === "file") {
      v.setBigUint64(32, BigInt(node.bytes.byteLength), true);
      const ns = BigInt(Math.round(node.mtimeMs)) * 1_000_000n;
      for (const offset of [40, 48, 56]) v.setBigUint64(offset, ns, true);
    }
    return Errno.SUCCESS;
  };

  return {
    fd_prestat_get(fd: number, out: number): number {
      const open = table.get(fd);
      if (!open?.preopen) return Errno.BADF;
      const v = guest.struct(out, 8);
      if (!v) return Errno.FAULT;
      v.setUint8(0, 0); // a directory
      v.setUint32(4, open.preopen.byteLength, true);
      return Errno.SUCCESS;
    },
    fd_prestat_dir_name(fd: number, path: number, len: number): number {
      const open = table.get(fd);
      if (!open?.preopen) return Errno.BADF;
      const into = guest.bytes(path, len);
      if (!into) return Errno.FAULT;
      into.set(open.preopen.subarray(0, into.byteLength));
      return Errno.SUCCESS;
    },
    path_open(fd: number, _dirflags: number, path: number, pathLen: number, oflags: number, _base: bigint, _inheriting: bigint, fdflags: number, out: number): number {
      if (oflags & (O_CREAT | O_EXCL | O_TRUNC) || fdflags & FDFLAG_APPEND) return Errno.ROFS;
      if (table.size >= MAX_OPEN) return Errno.MFILE;
      const node = resolve(fd, path, pathLen);
      if (typeof node === "number") return node;
      if (oflags & O_DIRECTORY && node.kind !== "dir") return Errno.NOTDIR;
      if (!guest.fits(out, 4)) return Errno.FAULT;
      const opened = nextFd++;
      table.set(opened, { node, position: 0 });
      return guest.putU32(out, opened);
    },
    path_filestat_get(fd: number, _flags: number, path: number, pathLen: number, out: number): number {
      const node = resolve(fd, path, pathLen);
      return typeof node === "number" ? node : putFilestat(node, out);
    },
    fd_filestat_get(fd: number, out: number): number {
      const open = table.get(fd);
      return open ? putFilestat(open.node, out) : Errno.BADF;
    },
    fd_fdstat_get(fd: number, out: number): number {
      const open = table.get(fd);
      if (!open) return Errno.BADF;
      const v = guest.struct(out, 24);
      if (!v) return Errno.FAULT;
      v.setUint8(0, open.node.kind === "dir" ? FILETYPE_DIRECTORY : FILETYPE_REGULAR_FILE);
      v.setUint16(2, 0, true);
      v.setBigUint64(8, ALL_RIGHTS, true);
      v.setBigUint64(16, ALL_RIGHTS, true);
      return Errno.SUCCESS;
    },
    /** Reads into the iovecs; the file's bytes, from its position. */
    read(fd: number, iovecs: Uint8Array[]): number | { read: number } {
      const open = table.get(fd);
      if (!open) return Errno.BADF;
      if (open.node.kind !== "file") return Errno.ISDIR;
      let read = 0;
      for (const iov of iovecs) {
        const chunk = open.node.bytes.subarray(open.position, open.position + iov.byteLength);
        iov.set(chunk);
        open.position += chunk.byteLength;
        read += chunk.byteLength;
        if (chunk.byteLength < iov.byteLength) break;
      }
      return { read };
    },
    fd_seek(fd: number, offset: bigint, whence: number, out: number): number {
      const open = table.get(fd);
      if (!open) return Errno.BADF;
      if (open.node.kind !== "file") return Errno.ISDIR;
      const base = whence === 0 ? 0 : whence === 1 ? open.position : whence === 2 ? open.node.bytes.byteLength : -1;
      const position = base + Number(offset);
      if (base < 0 || position < 0) return Errno.INVAL;
      if (!guest.fits(out, 8)) return Errno.FAULT;
      open.position = position;
      return guest.putU64(out, BigInt(position));
    },
    fd_tell(fd: number, out: number): number {
      const open = table.get(fd);
      return open ? guest.putU64(out, BigInt(open.position)) : Errno.BADF;
    },
    fd_close(fd: number): number {
      const open = table.get(fd);
      if (!open) return Errno.BADF;
      if (!open.preopen) table.delete(fd);
      return Errno.SUCCESS;
    },
    /** dirent (preview1): d_next u64, d_ino u64, d_namlen u32, d_type u8, then the name; cut at the buffer's end. */
    fd_readdir(fd: number, buf: number, bufLen: number, cookie: bigint, used: number): number {
      const open = table.get(fd);
      if (!open) return Errno.BADF;
      if (open.node.kind !== "dir") return Errno.NOTDIR;
      const into = guest.bytes(buf, Math.min(bufLen >>> 0, MAX_READDIR));
      if (!into || !guest.fits(used, 4)) return Errno.FAULT;
      const names = [".", "..", ...Object.keys(open.node.entries).sort()];
      let offset = 0;
      // dircookie is a u64: one the module made up is past the end, never before the start.
      for (let i = Number(BigInt.asUintN(64, cookie)); i < names.length && offset < into.byteLength; i++) {
        const name = encoder.encode(names[i]!);
        const entry = new Uint8Array(24 + name.byteLength);
        const e = new DataView(entry.buffer);
        e.setBigUint64(0, BigInt(i + 1), true);
        e.setUint32(16, name.byteLength, true);
        const child = i < 2 ? undefined : (open.node.entries[names[i]!] as VolumeNode);
        e.setUint8(20, child?.kind === "file" ? FILETYPE_REGULAR_FILE : FILETYPE_DIRECTORY);
        entry.set(name, 24);
        const fits = Math.min(entry.byteLength, into.byteLength - offset);
        into.set(entry.subarray(0, fits), offset);
        offset += fits;
      }
      return guest.putU32(used, offset);
    },
  };
}
