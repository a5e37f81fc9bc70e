// The local filesystem for Deno, as the Runtime's FileSystem.

import type { AppendFile, FileStat, FileSystem, OpenedFile, TempFile } from "../../src/runtime.ts";
import { fileStream } from "../common/file-stream.ts";
import { orNull } from "../common/or-null.ts";
import { ownedTempDirs } from "../common/temp-dirs.ts";
import { Deno, type DenoFileInfo, type DenoFsFile } from "./api.ts";

/** Where Deno.makeTempDir makes them by default (Rust's std::env::temp_dir), named so it can be listed. */
const tmp = () => Deno.env.get("TMPDIR") || "/tmp";
const makeTempDir = ownedTempDirs({
  pid: Deno.pid,
  make: (prefix) => Deno.makeTempDir({ dir: tmp(), prefix }),
  async list() {
    const names: string[] = [];
    for await (const entry of Deno.readDir(tmp())) names.push(entry.name);
    return names;
  },
  remove: (name) => Deno.remove(`${tmp()}/${name}`, { recursive: true }),
  alive(pid) {
    try {
      Deno.kill(pid, 0);
      return true;
    } catch (err) {
      return !(err instanceof Deno.errors.NotFound);
    }
  },
});

function fileStat(s: DenoFileInfo): FileStat {
  return {
    isFile: s.isFile,
    isDirectory: s.isDirectory,
    size: s.size,
    mtimeMs: s.mtime?.getTime() ?? 0,
    mode: (s.mode ?? 0) & 0o7777,
    dev: BigInt(s.dev),
    // Null only on Windows, which postern does not target: there every inode compares equal.
    ino: BigInt(s.ino ?? 0),
    // Null only on Windows, as ino.
    uid: s.uid ?? 0,
  };
}

/**
 * Reads of `file` that fill `into` from byte `position`: Deno files have no
 * positional read, so a read seeks first, unless the file's offset is there
 * already (a stream reads on where it stopped: no seek per chunk).
 */
function positionalReads(file: DenoFsFile): (into: Uint8Array, position: number) => Promise<number> {
  let offset = 0;
  return async (into, position) => {
    if (position !== offset) await file.seek(position, Deno.SeekMode.Start);
    const n = (await file.read(into)) ?? 0;
    offset = position + n;
    return n;
  };
}

/** Closes `file` once; Deno throws on a second close. */
function closer(file: DenoFsFile): () => Promise<void> {
  let closed = false;
  return async () => {
    if (closed) return;
    closed = true;
    file.close();
  };
}

export const fs: FileSystem = {
  stat: (path) => orNull(async () => fileStat(await Deno.stat(path))),
  lstat: (path) => orNull(async () => fileStat(await Deno.lstat(path))),
  async openRead(path): Promise<OpenedFile | null> {
    // Deno.open has no O_NONBLOCK: a FIFO swapped in after the caller's stat waits for a writer (README, the runtime table).
    const file = await orNull(() => Deno.open(path, { read: true }));
    if (!file) return null;
    const close = closer(file);
    const readAt = positionalReads(file);
    try {
      return { stat: fileStat(await file.stat()), readStream: (range) => fileStream(readAt, close, range), close };
    } catch (err) {
      await close();
      throw err;
    }
  },
  list: (path) =>
    orNull(async () => {
      const names: string[] = [];
      for await (const entry of Deno.readDir(path)) names.push(entry.name);
      return names;
    }),
  realpath: (path) => orNull(() => Deno.realPath(path)),
  readStream(path, range) {
    let readAt: ((into: Uint8Array, position: number) => Promise<number>) | undefined;
    let close: (() => Promise<void>) | undefined;
    const read = async (into: Uint8Array, position: number) => {
      if (!readAt) {
        const file = await Deno.open(path, { read: true });
        close = closer(file);
        readAt = positionalReads(file);
      }
      return readAt(into, position);
    };
    return fileStream(read, () => close?.(), range);
  },
  async makeTempDir(prefix, owner) {
    const dir = await makeTempDir(prefix);
    if (owner) await Deno.chown(dir, owner.uid, owner.gid);
    return dir;
  },
  async removeDir(path) {
    await Deno.remove(path, { recursive: true }).catch(() => undefined);
  },
  async createTempFile(prefix): Promise<TempFile> {
    // Deno.makeTempDir makes the directory 0700; createNew refuses a file already there.
    const dir = await makeTempDir(prefix);
    const file = await Deno.open(`${dir}/data`, { read: true, write: true, createNew: true, mode: 0o600 }).catch(async (err: unknown) => {
      await Deno.remove(dir, { recursive: true }).catch(() => undefined);
      throw err;
    });
    // Deno files have no positional read or write: each seek and its I/O run alone.
    let last: Promise<unknown> = Promise.resolve();
    const alone = <T>(work: () => Promise<T>): Promise<T> => {
      const next = last.then(work);
      last = next.catch(() => undefined);
      return next;
    };
    let removed: Promise<void> | undefined;
    return {
      write: (bytes, position) =>
        alone(async () => {
          await file.seek(position, Deno.SeekMode.Start);
          for (let done = 0; done < bytes.byteLength; ) done += await file.write(bytes.subarray(done));
        }),
      read: (position, length) =>
        alone(async () => {
          await file.seek(position, Deno.SeekMode.Start);
          const into = new Uint8Array(length);
          let filled = 0;
          while (filled < length) {
            const n = await file.read(into.subarray(filled));
            if (n === null) break;
            filled += n;
          }
          return into.subarray(0, filled);
        }),
      remove() {
        removed ??= alone(async () => {
          file.close();
          await Deno.remove(dir, { recursive: true }).catch(() => undefined);
        });
        return removed;
      },
    };
  },
  async openAppend(path, mode): Promise<AppendFile> {
    const file = await Deno.open(path, { append: true, create: true, mode });
    let closed = false;
    return {
      async write(bytes) {
        for (let done = 0; done < bytes.byteLength; ) done += await file.write(bytes.subarray(done));
      },
      async close() {
        if (closed) return;
        closed = true;
        file.close();
      },
    };
  },
};
