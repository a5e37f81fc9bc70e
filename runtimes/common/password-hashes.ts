// Apache htpasswd's bcrypt and MD5-crypt hashes (Runtime.passwordHashes), by
// the libraries that compute them: bcryptjs, and apache-md5 over the
// platform's MD5 (node:crypto, which Node, Deno and Bun all provide). Kept
// out of gateways/ so that a Worker's bundle, which has no node:crypto
// unless nodejs_compat is on, never imports them.

import bcrypt from "bcryptjs";
import apacheMd5 from "apache-md5";
import type { PasswordHashes } from "../../src/runtime.ts";

// A CommonJS module whose export is the function itself (module.exports =),
// which its typings describe as an ES default export: typed as it loads.
const aprMd5 = apacheMd5 as unknown as (password: string, salt: string) => string;

export const passwordHashes: PasswordHashes = {
  // bcryptjs takes the whole stored hash as its salt: its cost and 22 salt characters.
  bcrypt: (password, stored) => bcrypt.hash(password, stored.slice(0, 29)),
  apr1: (password, stored) => aprMd5(password, stored),
};
