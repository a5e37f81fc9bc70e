// A short-lived cache of filesystem lookups (real path and kind of a file),
// as lighttpd's stat cache: a request for a script already looked up within
// the last second costs no filesystem call. A file created or removed is seen
// at most `ttlMs` later.

import type { FileStat, FileSystem } from "./runtime.ts";

export interface FileFacts {
  /** The path with every symlink resolved. */
  real: string;
  stat: FileStat;
}

const MAX_ENTRIES = 4096;

export class FileCache {
  readonly #fs: FileSystem;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { facts: Promise<FileFacts | null>; expires: number }>();

  constructor(fs: FileSystem, ttlMs = 1_000) {
    this.#fs = fs;
    this.#ttlMs = ttlMs;
  }

  /** What is at `path` (null when nothing is), looked up at most once per ttl. */
  lookup(path: string): Promise<FileFacts | null> {
    const now = Date.now();
    const hit = this.#entries.get(path);
    if (hit && hit.expires > now) return hit.facts;
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    const facts = this.#load(path);
    this.#entries.set(path, { facts, expires: now + this.#ttlMs });
    return facts;
  }

  async #load(path: string): Promise<FileFacts | null> {
    const real = await this.#fs.realpath(path);
    if (real === null) return null;
    const stat = await this.#fs.stat(real);
    return stat === null ? null : { real, stat };
  }
}
