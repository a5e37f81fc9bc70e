// Authentication on each runtime (the postern CLI on Node, Deno and Bun):
// Basic against an htpasswd file of every htpasswd format (bcrypt and
// $apr1$ come from the runtime's own hashes, Runtime.passwordHashes), and
// REMOTE_USER and AUTH_TYPE in the environment of a FastCGI (php-fpm), a CGI
// and a WSGI backend; a FastCGI authorizer under php-fpm before a route.
// Workers read no htpasswd file (no file system): docs/auth.md says so.

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AUTHORIZER_PHP, basic } from "./helpers/auth-php.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { spawnPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";
import { wsgiRoute } from "./helpers/wsgi.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const HTPASSWD = requireBinary(["htpasswd"], "apache2-utils");
const FIXTURES = join(import.meta.dirname, "fixtures");

const USERS = [
  ["alice", "-B", "bcrypt pässword"],
  ["bob", "-m", "md5 pässword"],
  ["carol", "-s", "sha pässword"],
] as const;

describe.skipIf(!PHP_FPM || !HTPASSWD)("auth and authorizer on each runtime", () => {
  let fpm: PhpFpm;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-auth-runtimes-"));
    for (const [user, flag, password] of USERS) execFileSync(HTPASSWD!, ["-b", ...(user === "alice" ? ["-c"] : []), flag, join(dir, "users"), user, password]);
    writeFileSync(join(dir, "authorizer.php"), AUTHORIZER_PHP);
    // CGI scripts run as another user when the tests run as root: theirs, with their directory.
    mkdirSync(join(dir, "cgi"));
    copyFileSync(join(FIXTURES, "cgi/env.sh"), join(dir, "cgi/env.sh"));
    giveToScriptUser(dir);
    fpm = await startPhpFpm(PHP_FPM!);
  }, 30_000);

  afterAll(async () => {
    await fpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const runtime of ["node", "deno", "bun"] as const satisfies CliRuntime[]) {
    describe(`on ${runtime}`, () => {
      let base = "";
      let stop: () => Promise<void> = async () => undefined;

      beforeAll(async () => {
        const port = await freePort();
        const config = join(dir, `${runtime}.toml`);
        const auth = 'auth = { htpasswd = "users", realm = "staff" }';
        writeFileSync(
          config,
          `listen = "127.0.0.1:${port}"
access_log = false

[[routes]]
path = "/env.php"
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${join(FIXTURES, "php")}"
${auth}

[[routes]]
path = "/env.sh"
gateway = "cgi"
root = "${join(dir, "cgi")}"
interpreters = { ".sh" = "/bin/sh" }
${auth}

${wsgiRoute({ app: "probes:app", route: auth }).toml}

[[routes]]
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${join(FIXTURES, "php")}"
authorizer = { backend = "127.0.0.1:${fpm.port}", script = "${join(dir, "authorizer.php")}" }
`,
        );
        const { proc, log } = spawnPostern(runtime, ["serve", "--config", config]);
        stop = () => stopProcessGroup(proc, "SIGTERM");
        await waitForPort(proc, port, `postern on ${runtime}`, log, 30_000);
        base = `http://127.0.0.1:${port}`;
      }, 60_000);

      afterAll(() => stop());

      const get = (path: string, authorization?: string) =>
        fetch(`${base}${path}`, { headers: authorization === undefined ? {} : { authorization }, signal: AbortSignal.timeout(20_000) });

      test.each(USERS)("%s (htpasswd %s): in with the right password, 401 with a wrong one, as an unknown user", async (user, _, password) => {
        const res = await get("/env.php", basic(user, password));
        expect(res.status).toBe(200);
        const { server } = (await res.json()) as { server: Record<string, string> };
        expect(server).toMatchObject({ REMOTE_USER: user, AUTH_TYPE: "Basic" });
        expect(server.HTTP_AUTHORIZATION).toBeUndefined();
        for (const wrong of [basic(user, password + "!"), basic(user + "x", password), "Basic %%%"]) {
          const refused = await get("/env.php", wrong);
          expect(refused.status).toBe(401);
          expect(refused.headers.get("www-authenticate")).toBe('Basic realm="staff", charset="UTF-8"');
        }
      });

      test("a CGI script and a WSGI app get REMOTE_USER and AUTH_TYPE, and no HTTP_AUTHORIZATION", async () => {
        const cgi = await (await get("/env.sh", basic("alice", "bcrypt pässword"))).text();
        expect(cgi).toMatch(/^REMOTE_USER=alice$/m);
        expect(cgi).toMatch(/^AUTH_TYPE=Basic$/m);
        expect(cgi).not.toMatch(/^HTTP_AUTHORIZATION=/m);
        const wsgi = (await (await get("/py/environ", basic("bob", "md5 pässword"))).json()) as Record<string, string>;
        expect(wsgi).toMatchObject({ REMOTE_USER: "bob", AUTH_TYPE: "Basic" });
        expect(wsgi.HTTP_AUTHORIZATION).toBeUndefined();
        expect((await get("/py/environ")).status).toBe(401);
      });

      test("the authorizer's 200 passes Variable-USER_ID on; its 403 is the answer", async () => {
        const seen = (await (await get("/env.php/x", "Bearer good-token")).json()) as { server: Record<string, string> };
        expect(seen.server.USER_ID).toBe("42");
        const refused = await get("/hello.php", "Bearer nope");
        expect(refused.status).toBe(403);
        expect(await refused.text()).toBe("no entry\n");
      });
    });
  }
});
