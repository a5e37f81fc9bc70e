// A log file postern appends lines to (access_log, error_log), and
// reopenLogs(), which opens every such file anew at its path on SIGUSR1: the
// signal logrotate's postrotate sends after renaming the files, as for
// nginx's USR1. Lines logged before the signal may still land in the renamed
// file, those logged after it land in the new one, and none is lost.
//
// A line leaves its request at once: it waits in a bounded queue that one
// write at a time drains, so a slow or stalled disk never holds a request
// (nor more than one of the platform's I/O threads per log). Past the bound,
// new lines are dropped and counted rather than held: memory stays bounded
// whatever the disk does, and the count is reported once writes succeed again.

import type { AppendFile, FileSystem } from "./runtime.ts";

/** rw-r-----: request lines and backends' errors are not for every local user. */
const MODE = 0o640;

/**
 * Characters of lines waiting for the disk beyond which new lines are
 * dropped. 1 Mi is some 5,000 access lines, a quarter of a second of them at
 * 20,000 requests a second: a disk slower than that for longer has stalled,
 * and holding more would only spend memory to drop the lines later.
 */
const MAX_QUEUED_CHARS = 1024 * 1024;

const openFiles = new Set<LogFile>();

/**
 * Opens every log file anew at its path (on SIGUSR1, after logrotate renamed
 * them); settles once each one writes to its new file, or, where the path
 * cannot be opened now, has said so and goes on writing to the old one.
 */
export async function reopenLogs(): Promise<void> {
  await Promise.all([...openFiles].map((log) => log.reopen()));
}

/** A log file that cannot be opened at startup: its key, its path and why. */
export class LogOpenError extends Error {
  readonly key: string;
  readonly path: string;
  constructor(key: string, path: string, cause: unknown) {
    super(`${key}: cannot open ${JSON.stringify(path)}: ${reason(cause)}`);
    this.name = "LogOpenError";
    this.key = key;
    this.path = path;
  }
}

/** Where the queue asks for the file to be opened again: lines before it go to the old file. */
interface Reopen {
  readonly done: () => void;
  readonly settled: Promise<void>;
}

export class LogFile {
  /** Settles once the file is open; rejects with a LogOpenError when it cannot be. */
  readonly opened: Promise<void>;
  readonly #fs: FileSystem;
  readonly #key: string;
  readonly #path: string;
  readonly #complain: (line: string) => void;
  #file: AppendFile | undefined;
  readonly #queue: (string | Reopen)[] = [];
  #queuedChars = 0;
  #dropped = 0;
  #failing = false;
  #busy = false;
  #drained: Promise<void> = Promise.resolve();
  #closed = false;

  /** `complain` takes what goes wrong with the file itself (another log's writer). */
  constructor(fs: FileSystem, key: string, path: string, complain: (line: string) => void) {
    this.#fs = fs;
    this.#key = key;
    this.#path = path;
    this.#complain = complain;
    this.opened = fs.openAppend(path, MODE).then(
      (file) => {
        this.#file = file;
      },
      (err: unknown) => {
        throw new LogOpenError(key, path, err);
      },
    );
    openFiles.add(this);
  }

  /** Queues one line; never waits. */
  write(line: string): void {
    if (this.#closed) return;
    if (this.#queuedChars + line.length + 1 > MAX_QUEUED_CHARS) {
      this.#dropped++;
      return;
    }
    this.#queue.push(line);
    this.#queuedChars += line.length + 1;
    this.#run();
  }

  /** Opens the path anew once the lines queued so far are written to the file open now. */
  reopen(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    // Signals that come before the file is reopened are answered by that one reopening.
    const last = this.#queue.at(-1);
    if (last !== undefined && typeof last !== "string") return last.settled;
    let done!: () => void;
    const settled = new Promise<void>((resolve) => (done = resolve));
    this.#queue.push({ done, settled });
    this.#run();
    return settled;
  }

  /** Writes what is queued, then closes the file; later lines are dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    openFiles.delete(this);
    await this.#drained;
    await this.#file?.close();
  }

  #run(): void {
    if (this.#busy) return;
    this.#busy = true;
    this.#drained = this.#drain();
  }

  async #drain(): Promise<void> {
    await this.opened.catch(() => undefined);
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      if (typeof head !== "string") {
        this.#queue.shift();
        await this.#reopenNow();
        head.done();
        continue;
      }
      const end = this.#queue.findIndex((entry) => typeof entry !== "string");
      const lines = this.#queue.splice(0, end === -1 ? this.#queue.length : end) as string[];
      const text = `${lines.join("\n")}\n`;
      this.#queuedChars -= text.length;
      await this.#append(text, lines.length);
    }
    // Checked and cleared in one step: a line queued from now on starts a new drain.
    this.#busy = false;
  }

  async #append(text: string, count: number): Promise<void> {
    const file = this.#file;
    // The file never opened (startup fails): the lines go where complaints go rather than nowhere.
    if (file === undefined) return this.#complain(text.slice(0, -1));
    try {
      await file.write(encoder.encode(text));
    } catch (err) {
      this.#dropped += count;
      if (!this.#failing) this.#complain(`${this.#key}: writing to ${JSON.stringify(this.#path)} failed: ${reason(err)}; lines are dropped until a write succeeds`);
      this.#failing = true;
      return;
    }
    this.#failing = false;
    if (this.#dropped > 0) {
      this.#complain(`${this.#key}: ${this.#dropped} lines dropped: ${JSON.stringify(this.#path)} took no more for a while (at most ${MAX_QUEUED_CHARS / 1024 ** 2} Mi characters of lines wait for it)`);
      this.#dropped = 0;
    }
  }

  async #reopenNow(): Promise<void> {
    try {
      const fresh = await this.#fs.openAppend(this.#path, MODE);
      const old = this.#file;
      this.#file = fresh;
      await old?.close();
    } catch (err) {
      this.#complain(`${this.#key}: cannot reopen ${JSON.stringify(this.#path)}: ${reason(err)}; still writing to the file opened before`);
    }
  }
}

const encoder = new TextEncoder();

/** open(2)'s and write(2)'s errors as a user fixes them (with O_CREAT, ENOENT is a missing directory). */
const REASONS: Record<string, string> = {
  ENOENT: "a directory on its path does not exist",
  ENOTDIR: "a part of its path is not a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "it is a directory",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "the name is too long",
  EIO: "input/output error",
};

function reason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string") return REASONS[code] ? `${REASONS[code]} (${code})` : code;
  return err instanceof Error ? err.message : String(err);
}
