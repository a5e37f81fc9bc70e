// An ordered store of bytes between a fast side and a slow one: in memory up
// to a per-buffer threshold and within the app's BufferBudget, then in a
// private temporary file where the runtime has files (nginx's
// client_body_buffer_size / client_body_temp_path, proxy_buffers /
// proxy_temp_path). One writer and one reader; what is read is gone.

import type { FileSystem, TempFile } from "../runtime.ts";
import type { BufferBudget } from "./budget.ts";

export interface SpoolOptions {
  /** Bytes this spool may hold in memory. */
  memory: number;
  /** Bytes it may hold at all, and the largest its file may grow to. */
  limit: number;
  budget: BufferBudget;
  /** Where bytes go past memory; absent where the runtime has no files. */
  files?: FileSystem;
}

/** Bytes in memory, or a stretch of the file. */
type Segment = { bytes: Uint8Array } | { position: number; length: number };

/**
 * What became of bytes offered to a spool: held; refused for good while
 * nothing is read (past `limit`, or past memory where there is no file);
 * refused for now (the app's memory budget is taken and no file can help).
 */
export type PushResult = "held" | "over-limit" | "no-room";

/** Largest piece read from the file at once. */
const FILE_READ = 64 * 1024;

const TEMP_PREFIX = "postern-spool-";

export class Spool {
  readonly #options: SpoolOptions;
  readonly #segments: Segment[] = [];
  /** Bytes held, in memory and in the file. */
  #held = 0;
  #inMemory = 0;
  #file: Promise<TempFile> | undefined;
  /** Where the next write to the file goes. */
  #fileEnd = 0;
  /** Bytes of the file not yet read back (including a read under way). */
  #fileUnread = 0;
  #fileFailed = false;
  #disposed = false;

  constructor(options: SpoolOptions) {
    this.#options = options;
  }

  /** Bytes held now. */
  get size(): number {
    return this.#held;
  }

  /** True once bytes have gone to the file. */
  get usedFile(): boolean {
    return this.#file !== undefined;
  }

  /** Holds `bytes` after those already held, if memory or the file can take them (else the caller waits for the reader, or refuses). */
  async push(bytes: Uint8Array): Promise<PushResult> {
    const n = bytes.byteLength;
    const o = this.#options;
    if (this.#disposed || this.#held + n > o.limit) return "over-limit";
    const memoryFits = this.#inMemory + n <= o.memory;
    if (memoryFits && o.budget.take(n)) {
      this.#inMemory += n;
      this.#held += n;
      this.#segments.push({ bytes });
      return "held";
    }
    if (!o.files || this.#fileFailed) return memoryFits ? "no-room" : "over-limit";
    // Everything written has been read back: the file is reused from its start.
    if (this.#fileUnread === 0) this.#fileEnd = 0;
    if (this.#fileEnd + n > o.limit) return "over-limit";
    const position = this.#fileEnd;
    try {
      this.#file ??= o.files.createTempFile(TEMP_PREFIX);
      await (await this.#file).write(bytes, position);
    } catch {
      // A full disk or no temporary directory: the spool goes on in memory only.
      this.#fileFailed = true;
      return "no-room";
    }
    if (this.#disposed) return "over-limit";
    this.#fileEnd = position + n;
    this.#fileUnread += n;
    this.#held += n;
    const last = this.#segments.at(-1);
    if (last && "position" in last && last.position + last.length === position) last.length += n;
    else this.#segments.push({ position, length: n });
    return "held";
  }

  /** The next bytes held (at most 64 KiB from the file at once), or null when none are. */
  async shift(): Promise<Uint8Array | null> {
    const first = this.#segments[0];
    if (!first) return null;
    if ("bytes" in first) {
      this.#segments.shift();
      const n = first.bytes.byteLength;
      this.#inMemory -= n;
      this.#held -= n;
      this.#options.budget.give(n);
      return first.bytes;
    }
    const length = Math.min(FILE_READ, first.length);
    const position = first.position;
    first.position += length;
    first.length -= length;
    if (first.length === 0) this.#segments.shift();
    this.#held -= length;
    try {
      const bytes = await (await this.#file!).read(position, length);
      if (bytes.byteLength !== length) throw new Error(`temporary file: ${bytes.byteLength} of ${length} bytes read back`);
      return bytes;
    } finally {
      // Only now may a write reuse the stretch just read.
      this.#fileUnread -= length;
    }
  }

  /**
   * Everything held, taken at once, when none of it went to the file. The
   * bytes stay counted against the budget until dispose: the caller holds
   * them until then.
   */
  takeAll(): Uint8Array[] {
    const parts: Uint8Array[] = [];
    for (const segment of this.#segments) {
      if (!("bytes" in segment)) throw new Error("Spool.takeAll: some bytes are in the file");
      parts.push(segment.bytes);
    }
    this.#segments.length = 0;
    this.#held = 0;
    return parts;
  }

  /** Lets go of everything held: the memory back to the budget, the file deleted. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#options.budget.give(this.#inMemory);
    this.#inMemory = 0;
    this.#held = 0;
    this.#segments.length = 0;
    const file = this.#file;
    if (file) await file.then((f) => f.remove()).catch(() => undefined);
  }
}
