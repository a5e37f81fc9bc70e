// HTTP Basic authentication of a route's requests (RFC 7617) against its
// htpasswd file (file.ts): the user, or the 401 that asks again. With a
// cache time, a user and password that passed are remembered that long
// (lighttpd's auth.cache): browsers send the password with every request,
// and bcrypt costs milliseconds of CPU each time by design.

import type { PasswordHashes } from "../../../src/runtime.ts";
import { basicCredentials, challenge } from "./basic.ts";
import type { HtpasswdFile } from "./file.ts";
import type { HtpasswdEntry } from "./htpasswd.ts";
import { verifyPassword } from "./verify.ts";

/** Credentials remembered at most, the oldest forgotten first. */
const CACHE_ENTRIES = 1024;

export class BasicAuth {
  readonly #file: HtpasswdFile;
  readonly #realm: string;
  readonly #hashes: PasswordHashes | undefined;
  readonly #cacheMs: number;
  /** SHA-256 of a secret of this process, the user, the password and its stored hash -> when it is forgotten. */
  readonly #passed = new Map<string, number>();
  readonly #secret = crypto.getRandomValues(new Uint8Array(32));

  constructor(file: HtpasswdFile, realm: string, hashes: PasswordHashes | undefined, cacheMs = 0) {
    this.#file = file;
    this.#realm = realm;
    this.#hashes = hashes;
    this.#cacheMs = cacheMs;
  }

  /** The user the request's credentials name, when its password is right; else the 401 answer. */
  async authenticate(request: Request): Promise<string | Response> {
    const credentials = basicCredentials(request.headers.get("authorization"));
    if (credentials === undefined) return challenge(this.#realm);
    const users = await this.#file.users();
    const entry = users.get(credentials.user);
    if (entry === undefined) {
      // An unknown user costs what a known one does (CWE-204): a password is
      // checked against the file's first hash, and the answer is no whatever it says.
      const decoy = users.values().next().value;
      if (decoy !== undefined) await verifyPassword(credentials.password, decoy, this.#hashes);
      return challenge(this.#realm);
    }
    return (await this.#verify(credentials.user, credentials.password, entry)) ? credentials.user : challenge(this.#realm);
  }

  async #verify(user: string, password: string, entry: HtpasswdEntry): Promise<boolean> {
    if (this.#cacheMs === 0) return verifyPassword(password, entry, this.#hashes);
    // The stored hash is part of the key: a password changed in the file is checked again.
    const key = await this.#key(user, password, entry.hash);
    const until = this.#passed.get(key);
    if (until !== undefined && until > Date.now()) return true;
    this.#passed.delete(key);
    if (!(await verifyPassword(password, entry, this.#hashes))) return false;
    if (this.#passed.size >= CACHE_ENTRIES) this.#passed.delete(this.#passed.keys().next().value!);
    this.#passed.set(key, Date.now() + this.#cacheMs);
    return true;
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
