// Checks a password against an htpasswd entry (htpasswd.ts): the hash is
// computed again with the entry's salt and compared in constant time, so
// that how long a wrong password takes tells nothing of the right one
// (CWE-208). SHA-1 is WebCrypto's; bcrypt and Apache MD5 are the
// runtime's (Runtime.passwordHashes).

import type { PasswordHashes } from "../../../src/runtime.ts";
import type { HtpasswdEntry } from "./htpasswd.ts";

const encoder = new TextEncoder();

/** True when `password` (the UTF-8 text the client sent) matches `entry`. */
export async function verifyPassword(password: string, entry: HtpasswdEntry, hashes: PasswordHashes | undefined): Promise<boolean> {
  const bytes = encoder.encode(password);
  switch (entry.format) {
    case "plain":
      return sameBytes(bytes, encoder.encode(entry.hash));
    case "sha1":
      return sameBytes(encoder.encode("{SHA}" + base64(await crypto.subtle.digest("SHA-1", bytes))), encoder.encode(entry.hash));
    case "bcrypt":
      return sameBytes(encoder.encode(await needHashes(hashes).bcrypt(password, entry.hash)), encoder.encode(entry.hash));
    case "apr1":
      // htpasswd hashed the bytes typed: the password's UTF-8 bytes, one char each.
      return sameBytes(encoder.encode(needHashes(hashes).apr1(String.fromCharCode(...bytes), entry.hash)), encoder.encode(entry.hash));
  }
}

function needHashes(hashes: PasswordHashes | undefined): PasswordHashes {
  // The file was refused at load when the runtime lacks them (file.ts): not reached.
  if (hashes === undefined) throw new Error("this runtime computes no bcrypt or $apr1$ hashes");
  return hashes;
}

/** Compares every byte whatever the first difference: the time depends on the lengths only. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i % a.length] ?? 0) ^ (b[i % b.length] ?? 0);
  return diff === 0;
}

function base64(digest: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}
