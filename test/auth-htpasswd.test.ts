// htpasswd files as Debian's `htpasswd` (apache2-utils) writes them, in each
// of its hash formats, read (gateways/route/auth/htpasswd.ts) and checked
// (verify.ts) with the Node runtime's hashes: the right password passes, a
// wrong one does not, and the formats postern refuses are refused with a
// message that says why.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { BasicAuth } from "../gateways/route/auth/basic-auth.ts";
import { HtpasswdFile } from "../gateways/route/auth/file.ts";
import { parseHtpasswd } from "../gateways/route/auth/htpasswd.ts";
import { sameBytes, verifyPassword } from "../gateways/route/auth/verify.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import type { PasswordHashes } from "../src/runtime.ts";
import { requireBinary } from "./helpers/binaries.ts";

const HTPASSWD = requireBinary(["htpasswd"], "apache2-utils");

describe.skipIf(!HTPASSWD)("htpasswd files made by Apache's htpasswd", () => {
  const dir = mkdtempSync(join(tmpdir(), "postern-htpasswd-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The file `htpasswd` makes with `flag` for one user. */
  const made = (flag: string, user: string, password: string): string => {
    const file = join(dir, `${flag}-${user}`);
    execFileSync(HTPASSWD!, ["-c", "-b", flag, file, user, password], { stdio: "ignore" });
    return readFileSync(file, "utf8");
  };

  test.each([
    ["-B", "bcrypt"],
    ["-m", "apr1"],
    ["-s", "sha1"],
  ] as const)("htpasswd %s (%s): the right password passes, a wrong one and a prefix of it do not", async (flag, format) => {
    for (const password of ["open sesame", "pässwörd ünïcode", ""]) {
      const parsed = parseHtpasswd(made(flag, "alice", password), false);
      if (!parsed.ok) throw new Error(parsed.message);
      const entry = parsed.users.get("alice")!;
      expect(entry.format).toBe(format);
      expect(await verifyPassword(password, entry, nodeRuntime.passwordHashes)).toBe(true);
      expect(await verifyPassword(password + "x", entry, nodeRuntime.passwordHashes)).toBe(false);
      expect(await verifyPassword(password.slice(0, -1), entry, nodeRuntime.passwordHashes)).toBe(password === "");
    }
  });

  test("htpasswd -p (plaintext): refused unless allowed, then compared as written", async () => {
    const text = made("-p", "dave", "plain words");
    expect(parseHtpasswd(text, false)).toMatchObject({ ok: false, line: 1, message: expect.stringContaining("allow_plaintext") });
    const parsed = parseHtpasswd(text, true);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(await verifyPassword("plain words", parsed.users.get("dave")!, undefined)).toBe(true);
    expect(await verifyPassword("plain word", parsed.users.get("dave")!, undefined)).toBe(false);
  });

  test("htpasswd -d (crypt DES): refused with the reason, even where plaintext is allowed", () => {
    const text = made("-d", "erin", "des12345");
    for (const allow of [false, true]) {
      expect(parseHtpasswd(text, allow)).toMatchObject({ ok: false, line: 1, message: expect.stringContaining("crypt(3) DES") });
    }
  });

  test("a line of another format, or no hash, is refused at its line", () => {
    expect(parseHtpasswd("# users\nalice:{SHA}FIOVHSnLL3QkTpKtwhYrQVvufT8=\nbob:$6$salt$abc\n", false)).toMatchObject({ ok: false, line: 3 });
    expect(parseHtpasswd("\nalice\n", false)).toMatchObject({ ok: false, line: 2, message: "not a `user:hash` line" });
  });

  test("an unknown user costs what a known one does: one bcrypt computation, then 401", async () => {
    const file = join(dir, "cost");
    execFileSync(HTPASSWD!, ["-c", "-b", "-B", file, "alice", "right"], { stdio: "ignore" });
    let computed = 0;
    const hashes: PasswordHashes = { ...nodeRuntime.passwordHashes, bcrypt: (password, stored) => (computed++, nodeRuntime.passwordHashes.bcrypt(password, stored)) };
    const source = { fs: nodeRuntime.fs, path: file, allowPlaintext: false, hashes, route: "test", log: () => undefined };
    const htpasswd = new HtpasswdFile(source);
    await htpasswd.ready;
    const auth = new BasicAuth(htpasswd, "r", hashes);
    const ask = (user: string, password: string) => auth.authenticate(new Request("http://x/", { headers: { authorization: "Basic " + btoa(`${user}:${password}`) } }));
    for (const [user, password, answer] of [["alice", "right", "alice"], ["alice", "wrong", 401], ["mallory", "right", 401]] as const) {
      computed = 0;
      const result = await ask(user, password);
      expect(typeof result === "string" ? result : result.status).toBe(answer);
      expect(computed).toBe(1);
    }
  });

  test("with a cache time, a password that passed is not hashed again; a wrong one always is, and a changed file is read as new", async () => {
    const file = join(dir, "cached");
    execFileSync(HTPASSWD!, ["-c", "-b", "-B", file, "alice", "right"], { stdio: "ignore" });
    let computed = 0;
    const hashes: PasswordHashes = { ...nodeRuntime.passwordHashes, bcrypt: (password, stored) => (computed++, nodeRuntime.passwordHashes.bcrypt(password, stored)) };
    const htpasswd = new HtpasswdFile({ fs: nodeRuntime.fs, path: file, allowPlaintext: false, hashes, route: "test", log: () => undefined });
    await htpasswd.ready;
    const auth = new BasicAuth(htpasswd, "r", hashes, 60_000);
    const ask = async (password: string) => {
      const result = await auth.authenticate(new Request("http://x/", { headers: { authorization: "Basic " + btoa(`alice:${password}`) } }));
      return typeof result === "string" ? result : result.status;
    };
    expect([await ask("right"), await ask("right"), await ask("right")]).toEqual(["alice", "alice", "alice"]);
    expect(computed).toBe(1);
    expect([await ask("wrong"), await ask("wrong")]).toEqual([401, 401]);
    expect(computed).toBe(3);
    // A new password: the old one no longer passes, though it passed a moment ago.
    execFileSync(HTPASSWD!, ["-b", "-B", file, "alice", "changed"], { stdio: "ignore" });
    await expect.poll(() => ask("right"), { timeout: 5_000, interval: 200 }).toBe(401);
    expect(await ask("changed")).toBe("alice");
  });

  test("sameBytes: equal only for the same bytes, whatever the lengths", () => {
    const b = (s: string) => new TextEncoder().encode(s);
    expect(sameBytes(b("abc"), b("abc"))).toBe(true);
    expect(sameBytes(b("abc"), b("abd"))).toBe(false);
    expect(sameBytes(b("abc"), b("abcabc"))).toBe(false);
    expect(sameBytes(b(""), b("a"))).toBe(false);
    expect(sameBytes(b(""), b(""))).toBe(true);
  });
});
