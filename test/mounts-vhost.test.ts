// vhost_root: a document root per Host, by lighttpd's mod_evhost patterns
// (%_ the host, %0 domain and TLD, %1 the TLD, %2 the domain, %3... the labels
// left of it), on static, cgi (Perl) and fastcgi (php-fpm) routes; a Host
// that is no plain DNS name, lacks a label, or names no directory gets `root`.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { vhostPath, vhostRootProblem } from "../gateways/vhost-root.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { CGI_FIXTURES, parseEnvReport } from "./helpers/cgi-fixtures.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const PERL = requireBinary(["perl"], "perl");

describe("evhost patterns", () => {
  test.each([
    ["/srv/%_/htdocs", "www.example.org", "/srv/www.example.org/htdocs"],
    ["/srv/%0", "www.example.org", "/srv/example.org"],
    ["/srv/%1/%2", "www.example.org", "/srv/org/example"],
    ["/srv/%0/%3", "www.example.org", "/srv/example.org/www"],
    ["/srv/%4/%3", "a.b.example.org", "/srv/a/b"],
    ["/srv/100%%/%_", "example.org", "/srv/100%/example.org"],
  ])("%s for %s is %s", (pattern, host, path) => expect(vhostPath(pattern, host)).toBe(path));

  test.each([
    ["/srv/%3", "example.org", "no label left of the domain"],
    ["/srv/%0", "localhost", "no TLD"],
    ["/srv/%_", "..", "dot segments"],
    ["/srv/%_", "a..example", "an empty label"],
    ["/srv/%_", "a/b", "a slash"],
    ["/srv/%_", "a\\b", "a backslash"],
    ["/srv/%_", "[::1]", "an IP literal"],
    ["/srv/%_", "a_b.example", "an underscore"],
  ])("%s for %j is none (%s)", (pattern, host) => expect(vhostPath(pattern, host)).toBeUndefined());

  test.each([
    ["srv/%_", "absolute"],
    ["/srv/%x", "%x"],
    ["/srv/www", "same directory for every host"],
  ])("%s is refused", (pattern, words) => expect(vhostRootProblem(pattern)).toContain(words));
});

let dir: string;

function put(path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

/** GET `path` with this Host field (fetch cannot set one). */
function get(url: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, headers: { host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-vhost-"));
  for (const host of ["a.example", "b.example"]) put(`hosts/${host}/htdocs/index.html`, `site ${host}\n`);
  put("subs/www/example.org/index.html", "www of example.org\n");
  put("default/index.html", "default site\n");
  for (const host of ["a.example", "default"]) {
    const base = host === "default" ? "default" : `hosts/${host}/htdocs`;
    mkdirSync(join(dir, base, "cgi"), { recursive: true });
    copyFileSync(join(CGI_FIXTURES, "env.pl"), join(dir, base, "cgi/env.pl"));
    put(`${base}/php/env.php`, "<?php echo $_SERVER['DOCUMENT_ROOT'], ' ', $_SERVER['SCRIPT_FILENAME'];");
  }
  giveToScriptUser(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("routes", () => {
  let fpm: PhpFpm | undefined;
  let postern: RunningPostern;
  beforeAll(async () => {
    if (PHP_FPM) fpm = await startPhpFpm(PHP_FPM);
    const vhost = `root = "${dir}/default"\nvhost_root = "${dir}/hosts/%_/htdocs"`;
    postern = await startPostern(`
[[routes]]
path = "/cgi/*"
gateway = "cgi"
${vhost}
interpreters = { ".pl" = "perl" }
${fpm ? `\n[[routes]]\npath = "/php/*"\ngateway = "fastcgi"\nbackend = "unix:${fpm.socket}"\n${vhost}\n` : ""}
[[routes]]
path = "/sub/*"
gateway = "static"
root = "${dir}/default"
vhost_root = "${dir}/subs/%3/%0"
strip_prefix = true

[[routes]]
gateway = "static"
${vhost}
`);
  });
  afterAll(async () => {
    await postern?.stop();
    await fpm?.stop();
  });

  test("static: each host its directory, the port and letter case aside; any other host the root", async () => {
    for (const [host, body] of [
      ["a.example", "site a.example\n"],
      ["B.Example:8080", "site b.example\n"],
      ["c.example", "default site\n"],
      ["a..example", "default site\n"],
      ["..", "default site\n"],
      ["127.0.0.1", "default site\n"],
    ]) {
      expect([host, await get(postern.url, "/", host!)]).toEqual([host, { status: 200, body }]);
    }
    expect((await get(postern.url, "/sub/", "www.example.org")).body).toBe("www of example.org\n");
  });

  test.skipIf(!PERL)("cgi: the host's script runs, DOCUMENT_ROOT and SCRIPT_FILENAME in its directory", async () => {
    const answer = await get(postern.url, "/cgi/env.pl", "a.example");
    expect(answer.status).toBe(200);
    expect(parseEnvReport(answer.body, true).env).toMatchObject({
      DOCUMENT_ROOT: `${dir}/hosts/a.example/htdocs`,
      SCRIPT_FILENAME: `${dir}/hosts/a.example/htdocs/cgi/env.pl`,
    });
    const fallback = parseEnvReport((await get(postern.url, "/cgi/env.pl", "nowhere.example")).body, true);
    expect(fallback.env.SCRIPT_FILENAME).toBe(`${dir}/default/cgi/env.pl`);
  });

  test.skipIf(!PHP_FPM)("fastcgi: php-fpm is given the host's directory", async () => {
    expect(await get(postern.url, "/php/env.php", "a.example")).toEqual({
      status: 200,
      body: `${dir}/hosts/a.example/htdocs ${dir}/hosts/a.example/htdocs/php/env.php`,
    });
    expect((await get(postern.url, "/php/env.php", "zzz.example")).body).toBe(`${dir}/default ${dir}/default/php/env.php`);
  });
});
