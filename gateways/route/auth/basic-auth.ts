// HTTP Basic authentication of a route's requests (RFC 7617) against its
// htpasswd file (file.ts): the user, or the 401 that asks again.

import type { PasswordHashes } from "../../../src/runtime.ts";
import { basicCredentials, challenge } from "./basic.ts";
import type { HtpasswdFile } from "./file.ts";
import { verifyPassword } from "./verify.ts";

export class BasicAuth {
  readonly #file: HtpasswdFile;
  readonly #realm: string;
  readonly #hashes: PasswordHashes | undefined;

  constructor(file: HtpasswdFile, realm: string, hashes: PasswordHashes | undefined) {
    this.#file = file;
    this.#realm = realm;
    this.#hashes = hashes;
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
    return (await verifyPassword(credentials.password, entry, this.#hashes)) ? credentials.user : challenge(this.#realm);
  }
}
