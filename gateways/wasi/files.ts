// The file side of the WASI preview1 host: read-only preopened directories
// (volume.ts trees) from descriptor 3 on, and the files opened under them.
// Paths are resolved inside the tree only: ".." never leaves a preopen
// (ENOTCAPABLE), and nothing can be created, written or removed (EROFS).

import { Errno } from "./errno.ts";
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
/** Most a readdir call builds at once, whatever buffer the module offers. */
const MAX_READDIR = 64 * 1024;
const encoder = new TextEncoder();

interface Open {
  node: VolumeNode;
  /** Read position of a file. */
  position: number;
  /** The guest path of a preopened directory. */
  preopen?: Uint8Array;
}

/** WASI functions for the files of one run; `memory()` is the instance's memory. */
export function fileFunctions(volumes: Volume[], memory: () => WebAssembly.Memory) {
  const table = new Map<number, Open>();
  volumes.forEach((volume, i) => table.set(3 + i, { node: volume.root, position: 0, preopen: encoder.encode(volume.guestPath) }));
  let nextFd = 3 + volumes.length;
  const view = () => new DataView(memory().buffer);
  const text = (ptr: number, len: number) => new TextDecoder().decode(new Uint8Array(memory().buffer, ptr, len));

  /** The node at `path` under the directory open as `fd`, or an errno. */
  const resolve = (fd: number, path: string): VolumeNode | number => {
    const dir = table.get(fd);
    if (!dir) return Errno.BADF;
    if (dir.node.kind !== "dir") return Errno.NOTDIR;
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
  const putFilestat = (node: VolumeNode, out: number) => {
    const v = view();
    for (let offset = 0; offset < 64; offset += 8) v.setBigUint64(out + offset, 0n, true);
    v.setUint8(out + 16, node.kind === "dir" ? FILETYPE_DIRECTORY : FILETYPE_REGULAR_FILE);
    v.setBigUint64(out + 24, 1n, true);
    if (node.kind === "file") {
      v.setBigUint64(out + 32, BigInt(node.bytes.byteLength), true);
      const ns = BigInt(Math.round(node.mtimeMs)) * 1_000_000n;
      for (const offset of [40, 48, 56]) v.setBigUint64(out + offset, ns, true);
    }
  };

  return {
    fd_prestat_get(fd: number, out: number): number {
      const open = table.get(fd);
      if (!open?.preopen) return Errno.BADF;
      const v = view();
      v.setUint8(out, 0); // a directory
      v.setUint32(out + 4, open.preopen.byteLength, true);
      return Errno.SUCCESS;
    },
    fd_prestat_dir_name(fd: number, path: number, len: number): number {
      const open = table.get(fd);
      if (!open?.preopen) return Errno.BADF;
      new Uint8Array(memory().buffer, path, len).set(open.preopen.subarray(0, len));
      return Errno.SUCCESS;
    },
    path_open(fd: number, _dirflags: number, path: number, pathLen: number, oflags: number, _base: bigint, _inheriting: bigint, fdflags: number, out: number): number {
      if (oflags & (O_CREAT | O_EXCL | O_TRUNC) || fdflags & FDFLAG_APPEND) return Errno.ROFS;
      if (table.size >= MAX_OPEN) return Errno.MFILE;
      const node = resolve(fd, text(path, pathLen));
      if (typeof node === "number") return node;
      if (oflags & O_DIRECTORY && node.kind !== "dir") return Errno.NOTDIR;
      const opened = nextFd++;
      table.set(opened, { node, position: 0 });
      view().setUint32(out, opened, true);
      return Errno.SUCCESS;
    },
    path_filestat_get(fd: number, _flags: number, path: number, pathLen: number, out: number): number {
      const node = resolve(fd, text(path, pathLen));
      if (typeof node === "number") return node;
      putFilestat(node, out);
      return Errno.SUCCESS;
    },
    fd_filestat_get(fd: number, out: number): number {
      const open = table.get(fd);
      if (!open) return Errno.BADF;
      putFilestat(open.node, out);
      return Errno.SUCCESS;
    },
    fd_fdstat_get(fd: number, out: number): number {
      const open = table.get(fd);
      if (!open) return Errno.BADF;
      const v = view();
      v.setUint8(out, open.node.kind === "dir" ? FILETYPE_DIRECTORY : FILETYPE_REGULAR_FILE);
      v.setUint16(out + 2, 0, true);
      v.setBigUint64(out + 8, ALL_RIGHTS, true);
      v.setBigUint64(out + 16, ALL_RIGHTS, true);
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
      open.position = position;
      view().setBigUint64(out, BigInt(position), true);
      return Errno.SUCCESS;
    },
    fd_tell(fd: number, out: number): number {
      const open = table.get(fd);
      if (!open) return Errno.BADF;
      view().setBigUint64(out, BigInt(open.position), true);
      return Errno.SUCCESS;
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
      const names = [".", "..", ...Object.keys(open.node.entries).sort()];
      const out = new Uint8Array(Math.min(bufLen >>> 0, MAX_READDIR));
      bufLen = out.byteLength;
      let offset = 0;
      for (let i = Number(cookie); i < names.length && offset < bufLen; i++) {
        const name = encoder.encode(names[i]!);
        const entry = new Uint8Array(24 + name.byteLength);
        const e = new DataView(entry.buffer);
        e.setBigUint64(0, BigInt(i + 1), true);
        e.setUint32(16, name.byteLength, true);
        const child = i < 2 ? undefined : (open.node.entries[names[i]!] as VolumeNode);
        e.setUint8(20, child?.kind === "file" ? FILETYPE_REGULAR_FILE : FILETYPE_DIRECTORY);
        entry.set(name, 24);
        const fits = Math.min(entry.byteLength, bufLen - offset);
        out.set(entry.subarray(0, fits), offset);
        offset += fits;
      }
      new Uint8Array(memory().buffer, buf, bufLen).set(out.subarray(0, offset));
      view().setUint32(used, offset, true);
      return Errno.SUCCESS;
    },
  };
}
