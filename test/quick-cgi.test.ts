// `postern cgi DIR` serves a whole CGI directory: its programs run, its other
// files (a gitweb's static/gitweb.css) are sent as they are, a script is never
// sent as a file, and -e/--env sets the programs' environment. Against the
// real gitweb (Debian's gitweb package), whose page is unstyled when its
// stylesheet is refused, and which finds its config through GITWEB_CONFIG.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPostern, stopPostern, type Served } from "./helpers/postern-cli.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

const GITWEB = "/usr/share/gitweb";
const GIT = requireBinary(["git"], "git");
const HAS_GITWEB = existsSync(join(GITWEB, "gitweb.cgi"));
if (!HAS_GITWEB && process.env.CI) throw new Error(`${GITWEB}/gitweb.cgi not found: install it with \`apt-get install -y gitweb\``);

let dir: string;
let served: Served | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-quick-cgi-"));
});
afterEach(async () => {
  await stopPostern(served);
  served = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!HAS_GITWEB || !GIT)("gitweb", () => {
  test("the page runs, its stylesheet is sent, -e GITWEB_CONFIG reaches it, its source is never sent", async () => {
    const repos = join(dir, "repos");
    mkdirSync(repos);
    execFileSync(GIT!, ["init", "--quiet", "--bare", join(repos, "demo.git")]);
    writeFileSync(join(repos, "demo.git/description"), "the demo repository\n");
    writeFileSync(join(dir, "gitweb.conf"), `$projectroot = "${repos}";\n`);
    // gitweb runs as nobody here (the tests run as root), and git reads only repositories its user owns.
    giveToScriptUser(dir);
    served = await startPostern(["cgi", GITWEB, "-e", `GITWEB_CONFIG=${join(dir, "gitweb.conf")}`, "-b", "127.0.0.1:0"]);
    const page = await fetch(`${served.url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('href="static/gitweb.css"');
    // The project list comes from the config -e named.
    expect(html).toContain("the demo repository");
    const css = await fetch(`${served.url}/static/gitweb.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
    expect(await css.text()).toBe(readFileSync(join(GITWEB, "static/gitweb.css"), "utf8"));
    for (const script of ["/gitweb.cgi", "/index.cgi"]) {
      const ran = await (await fetch(`${served.url}${script}`)).text();
      expect(ran).toContain("the demo repository");
      expect(ran).not.toContain("use strict");
    }
  }, 60_000);
});

describe("a cgi directory of its own", () => {
  /** A program that prints some of its environment, a script and its data without an execute bit, a page, a dotfile. */
  function cgiDir(name: string): string {
    const www = join(dir, name);
    mkdirSync(join(www, "static"), { recursive: true });
    writeFileSync(join(www, "env.cgi"), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nA=%s B=%s SECRET=%s\\n" "$A" "$B" "$SECRET"\n', { mode: 0o755 });
    writeFileSync(join(www, "hello.pl"), 'print "Content-Type: text/plain\\n\\nby perl\\n"; # the source\n');
    writeFileSync(join(www, "static/page.html"), "<p>a page</p>\n");
    writeFileSync(join(www, ".htpasswd"), "admin:secret\n");
    // An editor's backups of a script, and a repository's config.
    writeFileSync(join(www, "hello.pl~"), 'print "old"; # the source\n');
    writeFileSync(join(www, "env.cgi.bak"), '#!/bin/sh\necho the source\n');
    mkdirSync(join(www, ".git"));
    writeFileSync(join(www, ".git/config"), "[remote] url = https://admin:secret@example.com/\n");
    giveToScriptUser(www);
    return www;
  }

  test("-e KEY=VALUE, repeated, sets the programs' environment; postern's own is not passed", async () => {
    served = await startPostern(["cgi", cgiDir("env"), "-e", "A=1", "--env", "B=x=y", "-b", "127.0.0.1:0"], { env: { SECRET: "postern's" } });
    expect(await (await fetch(`${served.url}/env.cgi`)).text()).toBe("A=1 B=x=y SECRET=\n");
  });

  test.each(["node", "deno", "bun"] as const)("on %s, other files are sent; a program, a script without an execute bit, a backup of a script, a dotfile never are", async (runtime) => {
    served = await startPostern(["cgi", cgiDir(`files-${runtime}`), "-b", "127.0.0.1:0"], { runtime });
    const page = await fetch(`${served.url}/static/page.html`);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toBe("<p>a page</p>\n");
    const hidden = [["/env.cgi", "#!/bin/sh"], ["/hello.pl", "the source"], ["/.htpasswd", "admin:secret"], ["/hello.pl~", "the source"], ["/env.cgi.bak", "the source"], ["/.git/config", "admin:secret"]] as const;
    for (const [path, source] of hidden) {
      const answer = await (await fetch(`${served.url}${path}`)).text();
      expect({ path, leaked: answer.includes(source) }).toEqual({ path, leaked: false });
    }
  });
});
