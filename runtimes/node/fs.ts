// The local filesystem for Node, as the Runtime's FileSystem.

import { createReadStream } from "node:fs";
import { chown, mkdtemp, readdir, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { FileStat, FileSystem } from "../../src/runtime.ts";

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
    const dir = await mkdtemp(join(tmpdir(), prefix));
    if (owner) await chown(dir, owner.uid, owner.gid);
    return dir;
  },
  async removeDir(path) {
    await rm(path, { recursive: true, force: true });
  },
};
