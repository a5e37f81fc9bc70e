// HTTP Basic authentication of a route's requests (RFC 7617) against its
// htpasswd file (file.ts): the user, or the 401 that asks again. With a
// cache time, a user and password that passed are remembered that long
// (lighttpd's auth.cache): browsers send the password with every request,
// and bcrypt costs milliseconds of CPU each time by design.
//
// Password checks run a few at a time, the others queued, and past the queue
// the answer is 503 (Retry-After): bcrypt is computed in JavaScript
// (bcryptjs), in slices of up to 100 ms of the event loop each, and every
// check running at once adds its slice to each turn of the loop. Measured on
// Node 20, cost 10: one wrong password takes 300 ms of CPU; 20 at once held
// every other request of the process up to 2.1 s; two at a time, 0.2 to 0.4 s,
// for the same 20 checks in the same time or less.

import { isGatewayError, responseForError } from "../../../src/errors.ts";
import { ConcurrencyLimiter } from "../../../src/limiter.ts";
import type { PasswordHashes } from "../../../src/runtime.ts";
import type { OnCancel } from "../../../src/waiter-queue.ts";
import { basicCredentials, challenge } from "./basic.ts";
import type { HtpasswdFile } from "./file.ts";
import { checkCost, type HtpasswdEntry } from "./htpasswd.ts";
import { verifyPassword } from "./verify.ts";

/** Credentials remembered at most, the oldest forgotten first. */
const CACHE_ENTRIES = 1024;

/** Password checks computed at once, and waiting, in the whole process: the CPU they share is the process's. */
export const CHECKS_AT_ONCE = 2;
export const CHECKS_QUEUED = 32;
const checks = new ConcurrencyLimiter({ maxActive: CHECKS_AT_ONCE, maxQueue: CHECKS_QUEUED, queueTimeoutMs: 10_000, what: "password checks" });

export class BasicAuth {
  readonly #file: HtpasswdFile;
  readonly #realm: string;
  readonly #hashes: PasswordHashes | undefined;
  readonly #cacheMs: number;
  /** SHA-256 of a secret of this process, the user, the password and its stored hash -> when it is forgotten. */
  readonly #passed = new Map<string, number>();
  /** Per copy of the file: the entry an unknown user's password is checked against. */
  readonly #decoys = new WeakMap<ReadonlyMap<string, HtpasswdEntry>, HtpasswdEntry | undefined>();
  readonly #secret = crypto.getRandomValues(new Uint8Array(32));

  constructor(file: HtpasswdFile, realm: string, hashes: PasswordHashes | undefined, cacheMs = 0) {
    this.#file = file;
    this.#realm = realm;
    this.#hashes = hashes;
    this.#cacheMs = cacheMs;
  }

  /**
   * The user the request's credentials name, when its password is right;
   * else the 401 answer, or 503 when too many checks wait. `onGone` calls
   * its listener when the client leaves: a check it waits for is withdrawn.
   */
  async authenticate(request: Request, onGone?: OnCancel): Promise<string | Response> {
    try {
      return await this.#authenticate(request, onGone);
    } catch (err) {
      if (isGatewayError(err)) return responseForError(err);
      throw err;
    }
  }

  async #authenticate(request: Request, onGone: OnCancel | undefined): Promise<string | Response> {
    const credentials = basicCredentials(request.headers.get("authorization"));
    if (credentials === undefined) return challenge(this.#realm);
    const users = await this.#file.users();
    const entry = users.get(credentials.user);
    if (entry === undefined) {
      // An unknown user costs what a known one does (CWE-204): a password is
      // checked against the file's costliest hash, and the answer is no
      // whatever it says. The first hash could be a {SHA} one, answered in
      // microseconds where every bcrypt user takes milliseconds.
      const decoy = this.#decoy(users);
      if (decoy !== undefined) await this.#check(credentials.password, decoy, onGone);
      return challenge(this.#realm);
    }
    return (await this.#verify(credentials.user, credentials.password, entry, onGone)) ? credentials.user : challenge(this.#realm);
  }

  async #verify(user: string, password: string, entry: HtpasswdEntry, onGone: OnCancel | undefined): Promise<boolean> {
    if (this.#cacheMs === 0) return this.#check(password, entry, onGone);
    // The stored hash is part of the key: a password changed in the file is checked again.
    const key = await this.#key(user, password, entry.hash);
    const until = this.#passed.get(key);
    if (until !== undefined && until > Date.now()) return true;
    this.#passed.delete(key);
    if (!(await this.#check(password, entry, onGone))) return false;
    if (this.#passed.size >= CACHE_ENTRIES) this.#passed.delete(this.#passed.keys().next().value!);
    this.#passed.set(key, Date.now() + this.#cacheMs);
    return true;
  }

  #decoy(users: ReadonlyMap<string, HtpasswdEntry>): HtpasswdEntry | undefined {
    if (!this.#decoys.has(users)) {
      let costliest: HtpasswdEntry | undefined;
      for (const entry of users.values()) if (costliest === undefined || checkCost(entry) > checkCost(costliest)) costliest = entry;
      this.#decoys.set(users, costliest);
    }
    return this.#decoys.get(users);
  }

  async #check(password: string, entry: HtpasswdEntry, onGone: OnCancel | undefined): Promise<boolean> {
    const release = await checks.acquire(onGone);
    try {
      return await verifyPassword(password, entry, this.#hashes);
    } finally {
      release();
    }
  }

  async #key(user: string, password: string, hash: string): Promise<string> {
    const text = new TextEncoder().encode(`${user}\0${password}\0${hash}`);
    const input = new Uint8Array(this.#secret.length + text.length);
    input.set(this.#secret);
    input.set(text, this.#secret.length);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
    return String.fromCharCode(...digest);
  }
}
