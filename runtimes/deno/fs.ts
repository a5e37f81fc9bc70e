// The local filesystem for Deno, as the Runtime's FileSystem.

import type { FileStat, FileSystem, TempFile } from "../../src/runtime.ts";
import { ownedTempDirs } from "../common/temp-dirs.ts";
import { Deno } from "./api.ts";

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

async function orNull<T>(work: () => Promise<T>): Promise<T | null> {
  try {
    return await work();
  } catch {
    return null;
  }
}

export const fs: FileSystem = {
  stat: (path) =>
    orNull(async (): Promise<FileStat> => {
      const s = await Deno.stat(path);
      return { isFile: s.isFile, isDirectory: s.isDirectory, size: s.size, mtimeMs: s.mtime?.getTime() ?? 0, mode: (s.mode ?? 0) & 0o7777 };
    }),
  list: (path) =>
    orNull(async () => {
      const names: string[] = [];
      for await (const entry of Deno.readDir(path)) names.push(entry.name);
      return names;
    }),
  realpath: (path) => orNull(() => Deno.realPath(path)),
  readStream(path, range) {
    let file: Awaited<ReturnType<typeof Deno.open>> | undefined;
    let left = range ? range.end - range.start + 1 : Infinity;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          if (!file) {
            file = await Deno.open(path, { read: true });
            if (range) await file.seek(range.start, Deno.SeekMode.Start);
          }
          const buffer = new Uint8Array(Math.min(64 * 1024, left));
          const n = buffer.byteLength === 0 ? null : await file.read(buffer);
          if (n === null) {
            file.close();
            controller.close();
            return;
          }
          left -= n;
          controller.enqueue(buffer.subarray(0, n));
        } catch (err) {
          // The stream fails; the file is not left open behind it.
          file?.close();
          throw err;
        }
      },
      cancel() {
        file?.close();
      },
    });
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
};
