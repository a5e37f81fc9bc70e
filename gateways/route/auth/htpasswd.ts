// The htpasswd file format of Apache's `htpasswd` tool: one `user:hash` per
// line, the hash telling its format by its prefix (Apache's "Password
// Formats" page; apr_password_validate in APR's apr_md5.c). bcrypt
// ($2y$/$2a$/$2b$), Apache MD5 ($apr1$) and SHA-1 ({SHA}) are taken;
// plaintext only when the route allows it; crypt(3) DES (`htpasswd -d`, the
// old Unix default) is refused outright: it reads 8 characters of a password
// and breaks in hours.

export type HashFormat = "bcrypt" | "apr1" | "sha1" | "plain";

export interface HtpasswdEntry {
  format: HashFormat;
  hash: string;
}

/** A file's users, or the first line that cannot be taken (1-based) and why. */
export type HtpasswdParse = { ok: true; users: Map<string, HtpasswdEntry> } | { ok: false; line: number; message: string };

// bcrypt: $2a$/$2b$/$2y$, a two-digit cost, 22 salt and 31 hash characters of bcrypt's base64.
const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
// Apache MD5: $apr1$, up to 8 salt characters, $, 22 hash characters.
const APR1 = /^\$apr1\$[^$]{1,8}\$[./A-Za-z0-9]{22}$/;
// {SHA}: base64 of the 20 bytes of SHA-1.
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;
// crypt(3) DES: 2 salt and 11 hash characters of crypt's alphabet.
const DES = /^[./A-Za-z0-9]{13}$/;

/** The entries of an htpasswd file's text; plaintext passwords only with `allowPlaintext`. */
export function parseHtpasswd(text: string, allowPlaintext: boolean): HtpasswdParse {
  const users = new Map<string, HtpasswdEntry>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    // Blank lines and "#" comments, as Apache's ap_getword-based reader skips them.
    if (line.trim() === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return { ok: false, line: i + 1, message: "not a `user:hash` line" };
    const user = line.slice(0, colon);
    // htpasswd 2.4 may add ":comment" fields after the hash; none of the hash formats holds a ":".
    const hash = line.slice(colon + 1).split(":")[0]!;
    const format = formatOf(hash, allowPlaintext);
    if (typeof format === "object") return { ok: false, line: i + 1, message: `user ${JSON.stringify(user)}: ${format.problem}` };
    // Apache takes the first line of a user: so does postern.
    if (!users.has(user)) users.set(user, { format, hash });
  }
  return { ok: true, users };
}

function formatOf(hash: string, allowPlaintext: boolean): HashFormat | { problem: string } {
  if (hash.startsWith("$2")) return BCRYPT.test(hash) ? "bcrypt" : { problem: "malformed bcrypt hash" };
  if (hash.startsWith("$apr1$")) return APR1.test(hash) ? "apr1" : { problem: "malformed $apr1$ (Apache MD5) hash" };
  if (hash.startsWith("{SHA}")) return SHA1.test(hash) ? "sha1" : { problem: "malformed {SHA} hash" };
  if (hash.startsWith("$")) return { problem: `hash format ${JSON.stringify(hash.slice(0, hash.indexOf("$", 1) + 1))} is not one of htpasswd's (bcrypt, $apr1$, {SHA})` };
  // Even where plaintext is allowed: taken as a password, a DES hash would let in whoever knows the hash.
  if (DES.test(hash)) {
    return { problem: "crypt(3) DES hash (htpasswd -d): refused, it checks only 8 characters of a password; make it again with `htpasswd -B`" };
  }
  if (allowPlaintext) return "plain";
  return { problem: "plaintext password: refused unless `allow_plaintext = true`; hash it with `htpasswd -B`" };
}
