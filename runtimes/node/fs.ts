// The local filesystem for Node (and Bun, whose node:fs it runs on), as the
// Runtime's FileSystem.

import { constants, createReadStream, type BigIntStats } from "node:fs";
import { chown, lstat, mkdtemp, open, readdir, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { AppendFile, FileStat, FileSystem, OpenedFile, TempFile } from "../../src/runtime.ts";
import { fileStream } from "../common/file-stream.ts";
import { orNull } from "../common/or-null.ts";
import { ownedTempDirs } from "../common/temp-dirs.ts";

const makeTempDir = ownedTempDirs({
  pid: process.pid,
  make: (prefix) => mkdtemp(join(tmpdir(), prefix)),
  list: () => readdir(tmpdir()),
  remove: (name) => rm(join(tmpdir(), name), { recursive: true, force: true }),
  alive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code !== "ESRCH";
    }
  },
});

/** Stats with bigint fields: an inode number may not fit a double exactly. */
function fileStat(s: BigIntStats): FileStat {
  return {
    isFile: s.isFile(),
    isDirectory: s.isDirectory(),
    size: Number(s.size),
    mtimeMs: Number(s.mtimeNs / 1000n) / 1000,
    mode: Number(s.mode) & 0o7777,
    dev: s.dev,
    ino: s.ino,
    uid: Number(s.uid),
  };
}

export const fs: FileSystem = {
  stat: (path) => orNull(async () => fileStat(await stat(path, { bigint: true }))),
  lstat: (path) => orNull(async () => fileStat(await lstat(path, { bigint: true }))),
  async openRead(path): Promise<OpenedFile | null> {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer, holding one of libuv's few threads.
    const file = await orNull(() => open(path, constants.O_RDONLY | constants.O_NONBLOCK));
    if (!file) return null;
    let closed: Promise<void> | undefined;
    const close = () => (closed ??= file.close().catch(() => undefined));
    try {
      return {
        stat: fileStat(await file.stat({ bigint: true })),
        readStream: (range) => fileStream(async (into, position) => (await file.read(into, 0, into.byteLength, position)).bytesRead, close, range),
        close,
      };
    } catch (err) {
      await close();
      throw err;
    }
  },
  list: (path) => orNull(() => readdir(path)),
  realpath: (path) => orNull(() => realpath(path)),
  readStream(path, range) {
    const stream = createReadStream(path, range ? { start: range.start, end: range.end } : {});
    return Readable.toWeb(stream) as ReadableStream<Uint8Array>;
  },
  async makeTempDir(prefix, owner) {
    const dir = await makeTempDir(prefix);
    if (owner) await chown(dir, owner.uid, owner.gid);
    return dir;
  },
  async removeDir(path) {
    await rm(path, { recursive: true, force: true });
  },
  async createTempFile(prefix): Promise<TempFile> {
    // mkdtemp(3) makes the directory 0700; "wx" refuses a file already there.
    const dir = await makeTempDir(prefix);
    const file = await open(join(dir, "data"), "wx+", 0o600).catch(async (err: unknown) => {
      await rm(dir, { recursive: true, force: true });
      throw err;
    });
    let removed: Promise<void> | undefined;
    return {
      async write(bytes, position) {
        for (let done = 0; done < bytes.byteLength; ) {
          done += (await file.write(bytes, done, bytes.byteLength - done, position + done)).bytesWritten;
        }
      },
      async read(position, length) {
        const into = new Uint8Array(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await file.read(into, filled, length - filled, position + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return into.subarray(0, filled);
      },
      remove() {
        removed ??= file.close().catch(() => undefined).then(() => rm(dir, { recursive: true, force: true }));
        return removed;
      },
    };
  },
  async openAppend(path, mode): Promise<AppendFile> {
    const file = await open(path, "a", mode);
    let closed: Promise<void> | undefined;
    return {
      async write(bytes) {
        for (let done = 0; done < bytes.byteLength; ) done += (await file.write(bytes, done, bytes.byteLength - done)).bytesWritten;
      },
      close: () => (closed ??= file.close().catch(() => undefined)),
    };
  },
};
