// HTTP Basic authentication on a route (`auth`), against a real php-fpm and
// htpasswd files made by Debian's `htpasswd`: who gets in, what the 401
// says, what PHP sees (REMOTE_USER, AUTH_TYPE, never the password), and the
// file read again when it changes.

import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { basic } from "./helpers/auth-php.ts";
import { checkConfig } from "../gateways/checks/config.ts";
import { createApp, gatewaySchemas } from "../gateways/index.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { parseConfig } from "../src/config.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const HTPASSWD = requireBinary(["htpasswd"], "apache2-utils");
const ROOT = join(import.meta.dirname, "fixtures/php");
const htpasswd = (...args: string[]) => execFileSync(HTPASSWD!, ["-b", ...args], { stdio: "ignore" });

describe.skipIf(!PHP_FPM || !HTPASSWD)("auth: Basic against an htpasswd file", () => {
  let fpm: PhpFpm;
  let postern: RunningPostern;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-auth-"));
    file = join(dir, "users");
    htpasswd("-cB", file, "alice", "bcrypt pass");
    htpasswd("-m", file, "bob", "mäd5 pass");
    htpasswd("-s", file, "carol", "sha pass");
    fpm = await startPhpFpm(PHP_FPM!);
    // The file named relative to the config's directory.
    postern = await startPostern(
      `
[[routes]]
path = "/env.php"
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${ROOT}"
auth = { htpasswd = "users", realm = "Staff \\"only\\"" }

[[routes]]
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${ROOT}"
`,
      dir,
    );
  });

  afterAll(async () => {
    await postern?.stop();
    await fpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, authorization?: string) =>
    fetch(`${postern.url}${path}`, { headers: authorization === undefined ? {} : { authorization }, signal: AbortSignal.timeout(10_000) });

  test.each([
    ["alice", "bcrypt pass"],
    ["bob", "mäd5 pass"],
    ["carol", "sha pass"],
  ])("%s, right password: PHP sees REMOTE_USER and AUTH_TYPE, and no Authorization", async (user, password) => {
    const res = await get("/env.php", basic(user, password));
    expect(res.status).toBe(200);
    const { server } = (await res.json()) as { server: Record<string, string> };
    expect(server).toMatchObject({ REMOTE_USER: user, AUTH_TYPE: "Basic" });
    expect(server.HTTP_AUTHORIZATION).toBeUndefined();
    expect(server.PHP_AUTH_PW).toBeUndefined();
  });

  test.each([
    ["wrong password", basic("alice", "bcrypt pas")],
    ["unknown user", basic("mallory", "bcrypt pass")],
    ["no credentials", undefined],
    ["another scheme", "Bearer abc"],
    ["no colon", "Basic " + btoa("alice")],
    ["not base64", "Basic !!!"],
    ["not UTF-8", "Basic " + Buffer.from([0x61, 0x3a, 0xff]).toString("base64")],
    ["a control character", basic("alice\u0001", "x")],
    ["nothing after Basic", "Basic"],
  ])("%s: 401 with the challenge, never the script", async (_, authorization) => {
    const res = await get("/env.php", authorization);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Basic realm="Staff \\"only\\"", charset="UTF-8"');
    expect(await res.text()).toBe("401 Unauthorized\n");
  });

  test("a route without auth passes Authorization on, and sets no AUTH_TYPE", async () => {
    const res = await get("/env.php/open", basic("alice", "bcrypt pass"));
    const { server } = (await res.json()) as { server: Record<string, string> };
    expect(server.HTTP_AUTHORIZATION).toBe(basic("alice", "bcrypt pass"));
    expect(server.AUTH_TYPE).toBeUndefined();
    expect(server.REMOTE_USER).toBeUndefined();
  });

  test("the file changed while running: a new user gets in, a removed one no longer does; one that cannot be taken keeps the last good copy, one gone lets nobody in, each logged once", async () => {
    const next = join(dir, "users.next");
    htpasswd("-cB", next, "dan", "new pass");
    renameSync(next, file);
    await expect.poll(async () => (await get("/env.php", basic("dan", "new pass"))).status, { timeout: 10_000, interval: 200 }).toBe(200);
    expect((await get("/env.php", basic("alice", "bcrypt pass"))).status).toBe(401);

    // A line postern refuses: the last good copy stays, and the log says why, once.
    writeFileSync(file, "dan:plaintext\n");
    await new Promise((r) => setTimeout(r, 1_500));
    for (let i = 0; i < 3; i++) expect((await get("/env.php", basic("dan", "new pass"))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await get("/env.php", basic("dan", "new pass"))).status).toBe(200);
    expect(postern.errors.filter((line) => line.includes("plaintext password")).length).toBe(1);

    // Gone: nobody gets in, as under lighttpd and nginx (removing the file shuts the door).
    rmSync(file);
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await get("/env.php", basic("dan", "new pass"))).status).toBe(401);
    expect((await get("/env.php", basic("dan", "new pass"))).status).toBe(401);
    expect(postern.errors.filter((line) => line.includes("nobody gets in")).length).toBe(1);

    htpasswd("-cs", file, "erin", "back again");
    chmodSync(file, 0o600);
    await expect.poll(async () => (await get("/env.php", basic("erin", "back again"))).status, { timeout: 10_000, interval: 200 }).toBe(200);
  });
});

describe.skipIf(!PHP_FPM || !HTPASSWD)("auth: the route behind it as the metrics see it", () => {
  test("a route with auth still reports its backend (postern_backend_up)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-auth-metrics-"));
    const fpm = await startPhpFpm(PHP_FPM!);
    htpasswd("-cs", join(dir, "users"), "alice", "pw");
    const postern = await startPostern(`[metrics]\n\n[[routes]]\ngateway = "fastcgi"\nbackend = "unix:${fpm.socket}"\nroot = "${ROOT}"\nauth = { htpasswd = "users" }\n`, dir);
    try {
      const text = await (await fetch(`${postern.url}/metrics`)).text();
      expect(text).toMatch(new RegExp(`^postern_backend_up\\{[^}]*${fpm.socket.replaceAll("/", "\\/")}[^}]*\\} 1$`, "m"));
    } finally {
      await postern.stop();
      await fpm.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("auth: a file postern refuses stops the route from starting", () => {
  test.skipIf(!HTPASSWD)("crypt(3) DES (htpasswd -d): the route's key and the file's line in the message", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-auth-des-"));
    try {
      writeFileSync(join(dir, "users"), "# staff\n");
      htpasswd("-d", join(dir, "users"), "erin", "des12345");
      const started = startPostern(`[[routes]]\ngateway = "static"\nroot = "${dir}"\nauth = { htpasswd = "users" }\n`, dir);
      await expect(started).rejects.toThrow(/routes\[0\].*auth\.htpasswd.*users:2: user "erin": crypt\(3\) DES/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.skipIf(!HTPASSWD)("postern check finds the same, and a realm or authorizer script it cannot use, at their keys", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-auth-check-"));
    try {
      htpasswd("-cd", join(dir, "users"), "erin", "des12345");
      const toml = `[[routes]]\ngateway = "static"\nroot = "${dir}"\nauth = { htpasswd = "users", realm = "Zoë" }\nauthorizer = { backend = "127.0.0.1:9", script = "auth.php" }\n`;
      const problems = await checkConfig(parseConfig(toml, join(dir, "postern.toml"), gatewaySchemas), nodeRuntime, dir);
      expect(problems.map((p) => [p.route, p.key.join("."), p.message])).toEqual([
        [0, "auth.realm", expect.stringContaining("printable ASCII")],
        [0, "authorizer.script", expect.stringContaining("absolute path")],
        [0, "auth.htpasswd", expect.stringContaining("users:1: user \"erin\": crypt(3) DES")],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a runtime without files (Workers): the route says why it cannot start", async () => {
    const app = createApp(parseConfig(`[[routes]]\ngateway = "fastcgi"\nbackend = "127.0.0.1:9"\nroot = "/srv"\nauth = { htpasswd = "users" }\n`, "postern.toml", gatewaySchemas), { ...nodeRuntime, fs: undefined }, "/");
    await expect(app.ready).rejects.toThrow(/auth\.htpasswd: this runtime has no files to read/);
    await app.close();
  });

  test("an authorizer on a unix socket where the runtime has none (Workers): named at its key", async () => {
    const app = createApp(parseConfig(`[[routes]]\ngateway = "static"\nroot = "/tmp"\nauthorizer = { backend = "unix:/run/auth.sock", script = "/srv/a.php" }\n`, "postern.toml", gatewaySchemas), { ...nodeRuntime, unixSockets: false }, "/");
    await expect(app.ready).rejects.toThrow(/authorizer\.backend: the node runtime cannot connect to unix sockets/);
    await app.close();
  });

  test("a missing file", async () => {
    const started = startPostern(`[[routes]]\ngateway = "static"\nroot = "/tmp"\nauth = { htpasswd = "/nonexistent/users" }\n`);
    await expect(started).rejects.toThrow(/auth\.htpasswd.*\/nonexistent\/users: cannot be read/);
  });
});
