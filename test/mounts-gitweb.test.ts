// Debian's gitweb mounted under another prefix than its directory's name, as
// lighttpd's shipped gitweb config and nginx's alias serve it: the cgi route
// with strip_prefix runs gitweb.cgi as the directory's index, a directory
// asked without its slash is a 301 (so the page's relative
// `static/gitweb.css` resolves), and a file the route cannot run falls
// through to the static route after it.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { readmeBlock, substitute } from "./helpers/readme.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

/** Where Debian's gitweb package puts it, as the recipe names it. */
const GITWEB = "/usr/share/gitweb";
const GIT = requireBinary(["git"], "git");
const HAS_GITWEB = existsSync(join(GITWEB, "gitweb.cgi"));
if (!HAS_GITWEB && process.env.CI) throw new Error(`${GITWEB}/gitweb.cgi not found: install it with \`apt-get install -y gitweb\``);

describe.skipIf(!HAS_GITWEB || !GIT)("gitweb at /git/", () => {
  let dir: string;
  let postern: RunningPostern;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-gitweb-"));
    const repos = join(dir, "repos");
    mkdirSync(repos);
    execFileSync(GIT!, ["init", "--quiet", "--bare", join(repos, "demo.git")]);
    writeFileSync(join(repos, "demo.git/description"), "the demo repository\n");
    writeFileSync(join(dir, "gitweb.conf"), `$projectroot = "${repos}";\n`);
    // gitweb runs as nobody here (the tests run as root), and git reads only repositories its user owns.
    giveToScriptUser(dir);
    // The recipe of docs/mounts.md, as written.
    const recipe = readmeBlock("toml", 'root = "/usr/share/gitweb"');
    postern = await startPostern(substitute(recipe, { "/etc/gitweb.conf": join(dir, "gitweb.conf") }));
  });
  afterAll(async () => {
    await postern?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("/git is a 301 to /git/, whose page links under /git/ and whose stylesheet is sent", async () => {
    const moved = await fetch(`${postern.url}/git`, { redirect: "manual" });
    expect([moved.status, moved.headers.get("location")]).toEqual([301, "/git/"]);
    const page = await fetch(`${postern.url}/git/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("the demo repository");
    // gitweb makes its links from SCRIPT_NAME: the prefix is in them.
    expect(html).toContain('href="/git/?p=demo.git;a=summary"');
    expect(html).toContain('href="static/gitweb.css"');
    const css = await fetch(new URL("static/gitweb.css", `${postern.url}/git/`));
    expect(css.status).toBe(200);
    expect(await css.text()).toBe(readFileSync(join(GITWEB, "static/gitweb.css"), "utf8"));
    const summary = await fetch(`${postern.url}/git/?p=demo.git;a=summary`);
    expect(summary.status).toBe(200);
    expect(await summary.text()).toContain("the demo repository");
  }, 60_000);
});
