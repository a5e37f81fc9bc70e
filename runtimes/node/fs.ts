// The local filesystem for Node, as the Runtime's FileSystem.

import { createReadStream } from "node:fs";
import { chown, mkdtemp, readdir, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { FileStat, FileSystem } from "../../src/runtime.ts";
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
};
