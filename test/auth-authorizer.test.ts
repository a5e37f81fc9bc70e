// The FastCGI Authorizer role (`authorizer`) with a real php-fpm running a
// small PHP authorizer: php-fpm takes FCGI_AUTHORIZER requests (it sets
// FCGI_ROLE=AUTHORIZER for them, main/fastcgi.c), so the authorizer here is
// a PHP script that lets in one token, passing a variable on, and answers
// 403 to anything else.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { AUTHORIZER_PHP, basic } from "./helpers/auth-php.ts";
import { freePort } from "./helpers/ports.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const HTPASSWD = requireBinary(["htpasswd"], "apache2-utils");
const ROOT = join(import.meta.dirname, "fixtures/php");

describe.skipIf(!PHP_FPM || !HTPASSWD)("authorizer: a FastCGI Authorizer under php-fpm", () => {
  let fpm: PhpFpm;
  let postern: RunningPostern;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-authorizer-"));
    writeFileSync(join(dir, "authorizer.php"), AUTHORIZER_PHP);
    fpm = await startPhpFpm(PHP_FPM!);
    postern = await startPostern(`
[[routes]]
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${ROOT}"
authorizer = { backend = "127.0.0.1:${fpm.port}", script = "${join(dir, "authorizer.php")}" }
`);
  });

  afterAll(async () => {
    await postern?.stop();
    await fpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (token: string, init: RequestInit = {}) =>
    fetch(`${postern.url}/env.php/x?q=1`, { ...init, headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });

  test("200: the request goes through, Variable-USER_ID becomes USER_ID; the authorizer got the head only, as an Authorizer", async () => {
    const res = await send("good-token", { method: "POST", body: "the body" });
    expect(res.status).toBe(200);
    const { server, body_length } = (await res.json()) as { server: Record<string, string>; body_length: number };
    expect(server.USER_ID).toBe("42");
    // The backend still gets the body the authorizer did not.
    expect(body_length).toBe(8);
    const asked = JSON.parse(Buffer.from(server.Asked!, "base64").toString()) as { role: string; body: string; unsent: string[] };
    expect(asked).toEqual({ role: "AUTHORIZER", body: "", unsent: [] });
    // A variable never replaces what postern sets from the request.
    expect(server.SCRIPT_FILENAME).toBe(join(ROOT, "env.php"));
  });

  test("403: the authorizer's answer is the client's, its Variable-* fields removed", async () => {
    const res = await send("bad-token");
    expect(res.status).toBe(403);
    expect(res.headers.get("x-reason")).toBe("bad token");
    expect(res.headers.get("variable-leak")).toBeNull();
    expect(await res.text()).toBe("no entry\n");
  });

  test("HEAD: the refusal's head, without its body", async () => {
    const res = await send("bad-token", { method: "HEAD" });
    expect(res.status).toBe(403);
    expect(res.headers.get("x-reason")).toBe("bad token");
    expect(await res.text()).toBe("");
  });

  test("after Basic auth on the same route: the authorizer sees REMOTE_USER, not the password, and both sets of variables reach the backend", async () => {
    execFileSync(HTPASSWD!, ["-c", "-b", "-s", join(dir, "users"), "alice", "pw"], { stdio: "ignore" });
    execFileSync(HTPASSWD!, ["-b", "-s", join(dir, "users"), "bob", "pw"], { stdio: "ignore" });
    const both = await startPostern(`
[[routes]]
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${ROOT}"
auth = { htpasswd = "${join(dir, "users")}" }
authorizer = { backend = "127.0.0.1:${fpm.port}", script = "${join(dir, "authorizer.php")}" }
`);
    try {
      const get = (user: string) => fetch(`${both.url}/env.php`, { headers: { authorization: basic(user, "pw") }, signal: AbortSignal.timeout(10_000) });
      const res = await get("alice");
      expect(res.status).toBe(200);
      const { server } = (await res.json()) as { server: Record<string, string> };
      expect(server).toMatchObject({ USER_ID: "42", REMOTE_USER: "alice", AUTH_TYPE: "Basic" });
      expect(server.HTTP_AUTHORIZATION).toBeUndefined();
      expect((await get("bob")).status).toBe(403);
      expect((await get("carol")).status).toBe(401);
    } finally {
      await both.stop();
    }
  });

  test("an authorizer slower than its first_byte_timeout lets nobody in: 504", async () => {
    const slow = await startPostern(`
[[routes]]
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${ROOT}"
authorizer = { backend = "127.0.0.1:${fpm.port}", script = "${join(dir, "authorizer.php")}", first_byte_timeout = "300ms" }
`);
    try {
      const res = await fetch(`${slow.url}/env.php`, { headers: { authorization: "Bearer slow" }, signal: AbortSignal.timeout(10_000) });
      expect(res.status).toBe(504);
    } finally {
      await slow.stop();
    }
  });

  test("an authorizer that cannot be reached lets nobody in: 502", async () => {
    const port = await freePort();
    const closed = await startPostern(`
[[routes]]
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${ROOT}"
authorizer = { backend = "127.0.0.1:${port}", script = "/srv/authorizer.php" }
`);
    try {
      const res = await fetch(`${closed.url}/env.php`, { signal: AbortSignal.timeout(10_000) });
      expect(res.status).toBe(502);
      expect(closed.errors.join("\n")).toContain("authorizer");
    } finally {
      await closed.stop();
    }
  });
});
