// An htpasswd file as a route reads it: loaded at setup, where a file that
// cannot be read or taken stops the route from starting; then looked at
// again (stat) at most once a second while requests come, and read again
// when its size, mtime or inode changed (lighttpd's mod_authn_file and nginx
// read it for every request; one stat a second costs less than that). A
// content that cannot be read or taken (a file half written) keeps the last
// good copy; a file gone lets nobody in. Either is logged once.

import { setupError } from "../../../src/check/problems.ts";
import { readAllLimited } from "../../../src/io/bytes.ts";
import type { FileStat, FileSystem, PasswordHashes } from "../../../src/runtime.ts";
import { parseHtpasswd, type HtpasswdEntry } from "./htpasswd.ts";

/** How often, at most, the file's stat is looked at. */
const CHECK_INTERVAL_MS = 1_000;
/** Larger than any real htpasswd file (a million bcrypt lines are 70 MB). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

export interface HtpasswdSource {
  fs: FileSystem | undefined;
  path: string;
  allowPlaintext: boolean;
  hashes: PasswordHashes | undefined;
  /** The route's name, for messages. */
  route: string;
  log(line: string): void;
}

export class HtpasswdFile {
  readonly ready: Promise<void>;
  readonly #source: HtpasswdSource;
  #users = new Map<string, HtpasswdEntry>();
  #stamp = "";
  #checkedAt = 0;
  #checking: Promise<void> | undefined;
  /** What is wrong with the file now, once logged; cleared when a good copy is read. */
  #reported: string | undefined;

  constructor(source: HtpasswdSource) {
    this.#source = source;
    this.ready = this.#load();
    this.ready.catch(() => undefined);
  }

  /** The users as the file holds them now, or as it last held them when it could be read. */
  async users(): Promise<ReadonlyMap<string, HtpasswdEntry>> {
    if (Date.now() - this.#checkedAt >= CHECK_INTERVAL_MS) {
      this.#checking ??= this.#check().finally(() => (this.#checking = undefined));
      await this.#checking;
    }
    return this.#users;
  }

  async #load(): Promise<void> {
    const { fs, route } = this.#source;
    if (fs === undefined) throw setupError(route, ["auth", "htpasswd"], "this runtime has no files to read (workerd): use `authorizer`, or a hono middleware in code");
    const problem = await this.#read(fs);
    if (problem !== undefined) throw setupError(route, ["auth", "htpasswd"], problem);
  }

  async #check(): Promise<void> {
    this.#checkedAt = Date.now();
    const fs = this.#source.fs!;
    const stat = await fs.stat(this.#source.path).catch(() => null);
    if (stat !== null && stampOf(stat) === this.#stamp) return;
    if (stat === null) {
      // Removing the file is how an operator shuts a site's door at once, as
      // it does under lighttpd and nginx: nobody gets in until it is back.
      this.#users = new Map();
      this.#stamp = "";
      this.#report(`${this.#source.path}: gone or cannot be looked at; nobody gets in until it is back`);
      return;
    }
    const problem = await this.#read(fs);
    if (problem === undefined) {
      if (this.#reported !== undefined) this.#source.log(`${this.#source.path}: read again, ${this.#users.size} users`);
      this.#reported = undefined;
    } else {
      this.#report(`${problem}; the last good copy (${this.#users.size} users) stays in use`);
    }
  }

  /** Logs what is wrong with the file, once until it changes. */
  #report(problem: string): void {
    if (problem === this.#reported) return;
    this.#reported = problem;
    this.#source.log(problem);
  }

  /** Reads and takes the file; what is wrong with it, if anything. */
  async #read(fs: FileSystem): Promise<string | undefined> {
    const { path, allowPlaintext, hashes } = this.#source;
    const opened = await fs.openRead(path).catch(() => null);
    if (opened === null) return `${path}: cannot be read`;
    let bytes: Uint8Array;
    try {
      if (!opened.stat.isFile) return `${path}: not a file`;
      bytes = await readAllLimited(opened.readStream(), MAX_FILE_BYTES, () => new Error("too large"));
    } catch (err) {
      return `${path}: ${(err as Error).message}`;
    } finally {
      await opened.close();
    }
    const parsed = parseHtpasswd(new TextDecoder().decode(bytes), allowPlaintext);
    if (!parsed.ok) return `${path}:${parsed.line}: ${parsed.message}`;
    if (hashes === undefined) {
      const needs = [...parsed.users.values()].find((e) => e.format === "bcrypt" || e.format === "apr1");
      if (needs !== undefined) return `${path}: this runtime computes no ${needs.format} hashes; only {SHA} ones`;
    }
    this.#users = parsed.users;
    this.#stamp = stampOf(opened.stat);
    return undefined;
  }
}

function stampOf(stat: FileStat): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}
