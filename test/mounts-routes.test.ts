// Where script routes are mounted and which requests they take, against real
// php-fpm and real Perl CGI scripts: `strip_prefix` (an app under another
// prefix than its directory name, nginx's alias / Caddy's handle_path),
// `script` (one script for a whole mount, Apache's ScriptAlias), `extensions`
// (only script files, lighttpd's ".php" => ...), `fallthrough` (no script:
// the next route), and the 301 of a directory asked without its slash.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { CGI_FIXTURES, parseEnvReport } from "./helpers/cgi-fixtures.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { readmeBlock, substitute } from "./helpers/readme.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const PERL = requireBinary(["perl"], "perl");
const ENV_PHP = join(import.meta.dirname, "fixtures/php/env.php");
const ENV_PL = join(CGI_FIXTURES, "env.pl");
const CSS = "body { color: teal }\n";

let dir: string;

/** Copies `from` to `dir/path` (mode 0755), or writes `text` there. */
function put(path: string, from: string | { text: string }): void {
  const to = join(dir, path);
  mkdirSync(dirname(to), { recursive: true });
  if (typeof from === "string") copyFileSync(from, to);
  else writeFileSync(to, from.text);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-mounts-"));
  for (const root of ["legacy", "site"]) {
    put(`${root}/x.php`, ENV_PHP);
    put(`${root}/index.php`, ENV_PHP);
    put(`${root}/lib/exe/css.php`, ENV_PHP);
    put(`${root}/dir/index.php`, ENV_PHP);
    put(`${root}/style.css`, { text: CSS });
  }
  for (const name of ["env.pl", "dir/index.pl", "lib/run.pl"]) put(`cgi/${name}`, ENV_PL);
  put("cgi/style.css", { text: CSS });
  // Perl scripts run as nobody when the tests run as root.
  giveToScriptUser(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!PHP_FPM)("fastcgi routes with php-fpm", () => {
  let fpm: PhpFpm;
  let postern: RunningPostern;
  const server = async (path: string) => {
    const res = await fetch(`${postern.url}${path}`, { redirect: "manual" });
    expect(res.status, path).toBe(200);
    return ((await res.json()) as { server: Record<string, string> }).server;
  };

  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!);
    const backend = `backend = "unix:${fpm.socket}"`;
    postern = await startPostern(`
[[routes]]
path = "/legacy/*"
gateway = "fastcgi"
${backend}
root = "${dir}/legacy"
strip_prefix = true

[[routes]]
path = "/one/*"
gateway = "fastcgi"
${backend}
root = "${dir}/legacy"
script = "/x.php"

[[routes]]
path = "/mixed/*"
gateway = "fastcgi"
${backend}
root = "${dir}/site"
strip_prefix = true
extensions = [".php"]

[[routes]]
path = "/mixed/*"
gateway = "static"
root = "${dir}/site"
strip_prefix = true

[[routes]]
path = "/ft/*"
gateway = "fastcgi"
${backend}
root = "${dir}/site"
strip_prefix = true
fallthrough = true

[[routes]]
path = "/ft/*"
gateway = "static"
root = "${dir}/site"
strip_prefix = true

[[routes]]
path = "/nofall/*"
gateway = "fastcgi"
${backend}
root = "${dir}/site"
strip_prefix = true

${substitute(readmeBlock("toml", 'root = "/usr/share/wordpress"'), { "/usr/share/wordpress": `${dir}/site`, "/run/php/php8.2-fpm.sock": fpm.socket })}`);
  });
  afterAll(async () => {
    await postern?.stop();
    await fpm?.stop();
  });

  test("strip_prefix: /legacy/x.php runs root/x.php, and SCRIPT_NAME keeps the prefix", async () => {
    expect(await server("/legacy/x.php/more?q=1")).toMatchObject({
      SCRIPT_NAME: "/legacy/x.php",
      PHP_SELF: "/legacy/x.php/more",
      PATH_INFO: "/more",
      SCRIPT_FILENAME: `${dir}/legacy/x.php`,
      DOCUMENT_ROOT: `${dir}/legacy`,
      REQUEST_URI: "/legacy/x.php/more?q=1",
    });
    expect(await server("/legacy/")).toMatchObject({ SCRIPT_NAME: "/legacy/index.php", SCRIPT_FILENAME: `${dir}/legacy/index.php` });
  });

  test("a directory asked without its slash is a 301 to it, the query kept; the mount itself too", async () => {
    for (const [path, location] of [
      ["/legacy/dir", "/legacy/dir/"],
      ["/legacy/dir?a=1&b", "/legacy/dir/?a=1&b"],
      ["/legacy", "/legacy/"],
      ["/blog", "/blog/"],
    ]) {
      const res = await fetch(`${postern.url}${path}`, { redirect: "manual" });
      expect([path, res.status, res.headers.get("location")]).toEqual([path, 301, location]);
    }
    expect(await server("/legacy/dir/")).toMatchObject({ SCRIPT_NAME: "/legacy/dir/index.php" });
  });

  test("script: the whole mount runs one script, the rest of the path is PATH_INFO", async () => {
    expect(await server("/one/repo/tree?h=main")).toMatchObject({
      SCRIPT_NAME: "/one",
      PATH_INFO: "/repo/tree",
      SCRIPT_FILENAME: `${dir}/legacy/x.php`,
      QUERY_STRING: "h=main",
    });
    expect(await server("/one")).toMatchObject({ SCRIPT_NAME: "/one", SCRIPT_FILENAME: `${dir}/legacy/x.php` });
    expect((await server("/one")).PATH_INFO ?? "").toBe("");
  });

  test("extensions: only script files, nested ones and PATH_INFO too; anything else goes to the next route", async () => {
    expect(await server("/mixed/lib/exe/css.php")).toMatchObject({ SCRIPT_NAME: "/mixed/lib/exe/css.php", SCRIPT_FILENAME: `${dir}/site/lib/exe/css.php` });
    expect(await server("/mixed/index.php/some/path")).toMatchObject({ SCRIPT_NAME: "/mixed/index.php", PATH_INFO: "/some/path" });
    // The static route after it serves it.
    const css = await fetch(`${postern.url}/mixed/style.css`);
    expect([css.status, await css.text()]).toEqual([200, CSS]);
    expect(fpm.served().some((line) => line.includes("style.css"))).toBe(false);
  });

  test("fallthrough: a request without a script goes to the next route; without it, 404", async () => {
    const passed = await fetch(`${postern.url}/ft/style.css`);
    expect([passed.status, await passed.text()]).toEqual([200, CSS]);
    expect((await fetch(`${postern.url}/nofall/style.css`)).status).toBe(404);
  });

  test("static first, then .php to php-fpm: docs/mounts.md's WordPress recipe", async () => {
    const css = await fetch(`${postern.url}/blog/style.css`);
    expect([css.status, await css.text()]).toEqual([200, CSS]);
    // Never served as a file: the static route leaves it to the next.
    expect(await server("/blog/x.php")).toMatchObject({ SCRIPT_NAME: "/blog/x.php" });
    expect(await server("/blog/lib/exe/css.php")).toMatchObject({ SCRIPT_NAME: "/blog/lib/exe/css.php" });
    expect(await server("/blog/")).toMatchObject({ SCRIPT_NAME: "/blog/index.php" });
    // A pretty permalink: no file, no script, the front controller.
    expect(await server("/blog/2024/01/hello/")).toMatchObject({ SCRIPT_NAME: "/blog/index.php", REQUEST_URI: "/blog/2024/01/hello/" });
  });
});

describe.skipIf(!PERL)("cgi routes with Perl scripts", () => {
  let postern: RunningPostern;
  const env = async (path: string) => {
    const res = await fetch(`${postern.url}${path}`, { redirect: "manual" });
    expect(res.status, path).toBe(200);
    return parseEnvReport(await res.text(), true).env;
  };

  beforeAll(async () => {
    const cgi = `gateway = "cgi"\nroot = "${dir}/cgi"\ninterpreters = { ".pl" = "perl" }\nindex = ["index.pl"]`;
    postern = await startPostern(`
[[routes]]
path = "/tools/*"
${cgi}
strip_prefix = true

[[routes]]
path = "/cgit/*"
${cgi}
script = "/env.pl"

[[routes]]
path = "/mixed/*"
${cgi}
strip_prefix = true
extensions = [".pl"]

[[routes]]
path = "/mixed/*"
gateway = "static"
root = "${dir}/cgi"
strip_prefix = true

[[routes]]
path = "/ft/*"
${cgi}
strip_prefix = true
fallthrough = true

[[routes]]
path = "/ft/*"
gateway = "static"
root = "${dir}/cgi"
strip_prefix = true
`);
  });
  afterAll(async () => postern?.stop());

  test("strip_prefix: /tools/env.pl runs root/env.pl, SCRIPT_NAME keeps the prefix", async () => {
    expect(await env("/tools/env.pl/x?y=1")).toMatchObject({
      SCRIPT_NAME: "/tools/env.pl",
      PATH_INFO: "/x",
      SCRIPT_FILENAME: `${dir}/cgi/env.pl`,
      PATH_TRANSLATED: `${dir}/cgi/x`,
      REQUEST_URI: "/tools/env.pl/x?y=1",
    });
    expect(await env("/tools/dir/")).toMatchObject({ SCRIPT_NAME: "/tools/dir/index.pl" });
  });

  test("a directory without its slash, and the mount itself, are 301s to the slash form", async () => {
    for (const [path, location] of [
      ["/tools/dir?q=1", "/tools/dir/?q=1"],
      ["/tools", "/tools/"],
    ]) {
      const res = await fetch(`${postern.url}${path}`, { redirect: "manual" });
      expect([path, res.status, res.headers.get("location")]).toEqual([path, 301, location]);
    }
  });

  test("script: /cgit/repo/tree runs the one script with PATH_INFO /repo/tree and SCRIPT_NAME /cgit", async () => {
    expect(await env("/cgit/repo/tree")).toMatchObject({ SCRIPT_NAME: "/cgit", PATH_INFO: "/repo/tree", SCRIPT_FILENAME: `${dir}/cgi/env.pl` });
    expect((await fetch(`${postern.url}/cgit/.git/config`)).status).toBe(404);
  });

  test("a script that is not there is a startup error naming the key, on cgi and fastcgi routes", async () => {
    for (const gateway of ['gateway = "cgi"', 'gateway = "fastcgi"\nbackend = "127.0.0.1:9"']) {
      const toml = `[[routes]]\npath = "/x/*"\n${gateway}\nroot = "${dir}/cgi"\nscript = "/nope.pl"\n`;
      await expect(startPostern(toml)).rejects.toThrow(/script.*"\/nope\.pl" is not a file under the root/);
    }
  });

  test("extensions: only .pl scripts run; a stylesheet goes to the static route after", async () => {
    expect(await env("/mixed/lib/run.pl/deep/path")).toMatchObject({ SCRIPT_NAME: "/mixed/lib/run.pl", PATH_INFO: "/deep/path" });
    const css = await fetch(`${postern.url}/mixed/style.css`);
    expect([css.status, await css.text()]).toEqual([200, CSS]);
  });

  test("fallthrough: a path with no script goes to the next route", async () => {
    // style.css is no script it may run (no interpreter, no execute bit): the static route sends it.
    const css = await fetch(`${postern.url}/ft/style.css`);
    expect([css.status, await css.text()]).toEqual([200, CSS]);
    expect(await env("/ft/env.pl")).toMatchObject({ SCRIPT_NAME: "/ft/env.pl" });
    expect((await fetch(`${postern.url}/ft/missing.txt`)).status).toBe(404);
  });
});
