// The local filesystem for Node (and Bun, whose node:fs it runs on), as the
// Runtime's FileSystem.

import { createReadStream } from "node:fs";
import { chown, mkdtemp, open, readdir, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { FileStat, FileSystem, TempFile } from "../../src/runtime.ts";
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

export const fs: FileSystem = {
  async stat(path): Promise<FileStat | null> {
    try {
      const s = await stat(path);
      return { isFile: s.isFile(), isDirectory: s.isDirectory(), size: s.size, mtimeMs: s.mtimeMs, mode: s.mode & 0o7777 };
    } catch {
      return null;
    }
  },
  async list(path) {
    try {
      return await readdir(path);
    } catch {
      return null;
    }
  },
  async realpath(path) {
    try {
      return await realpath(path);
    } catch {
      return null;
    }
  },
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
};
