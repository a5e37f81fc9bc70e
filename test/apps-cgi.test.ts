// cgit and gitweb from Debian's packages behind postern with
// examples/apps/<app>.toml as written (their config file named through the
// example's own `env`, pointing at a repository of the test's): the page a
// person sees, links carrying the mount's prefix, the stylesheets and images
// with their types, and the programs run, never sent.

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { get, installed, serveApp } from "./helpers/apps.ts";
import { requireBinary } from "./helpers/binaries.ts";
import type { RunningPostern } from "./helpers/postern.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

const GIT = requireBinary(["git"], "git");

let dir: string;
let repos: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-apps-cgi-"));
  repos = join(dir, "repos");
  mkdirSync(repos);
  if (GIT) {
    execFileSync(GIT, ["init", "--quiet", "--bare", join(repos, "demo.git")]);
    writeFileSync(join(repos, "demo.git/description"), "the demo repository\n");
  }
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Serves an app's example with its config file replaced by `config` (written in the test's directory). */
function served(app: string, configKey: string, config: () => string): () => RunningPostern {
  let postern: RunningPostern;
  beforeAll(async () => {
    const file = join(dir, `${app}.conf`);
    writeFileSync(file, config());
    // The programs run as nobody here (the tests run as root), and git reads only repositories its user owns.
    giveToScriptUser(dir);
    postern = await serveApp(app, { [configKey]: file });
  });
  afterAll(async () => {
    await postern?.stop();
  });
  return () => postern;
}

describe.skipIf(!GIT || !installed("/usr/lib/cgit/cgit.cgi"))("cgit at /cgit/", () => {
  // Debian's /etc/cgitrc holds only the stylesheet's and logo's URLs: the same, and the test's repositories.
  const postern = served("cgit", "/etc/cgitrc", () => `css=/cgit-css/cgit.css\nlogo=/cgit-css/cgit.png\nscan-path=${repos}\n`);

  test("the repository list links under /cgit/, with its stylesheet and logo", async () => {
    const url = postern().url;
    const page = await get(`${url}/cgit/`);
    expect([page.status, page.type]).toEqual([200, expect.stringMatching(/^text\/html/)]);
    expect(page.body).toContain("<title>Git repository browser</title>");
    expect(page.body).toContain("the demo repository");
    // cgit makes its links from SCRIPT_NAME (the route's prefix).
    expect(page.body).toContain("href='/cgit/demo.git/'");
    expect(page.body).toContain("href='/cgit-css/cgit.css'");
    const css = await get(`${url}/cgit-css/cgit.css`);
    expect([css.status, css.type]).toEqual([200, expect.stringMatching(/^text\/css/)]);
    const logo = await get(`${url}/cgit-css/cgit.png`);
    expect([logo.status, logo.type]).toEqual([200, "image/png"]);
  }, 20_000);

  test("a repository's page is PATH_INFO to the one program; /cgit (no slash) runs it too", async () => {
    const url = postern().url;
    const repo = await get(`${url}/cgit/demo.git/`);
    expect(repo.status).toBe(200);
    expect(repo.body).toContain("the demo repository");
    const bare = await get(`${url}/cgit`);
    expect(bare.status).toBe(200);
    expect(bare.body).toContain("the demo repository");
    // The program's own name is a path for it, never its file.
    const self = await get(`${url}/cgit/cgit.cgi`);
    expect(self.body).not.toContain("\u007fELF");
  }, 20_000);
});

describe.skipIf(!GIT || !installed("/usr/share/gitweb/gitweb.cgi"))("gitweb at /gitweb/", () => {
  const postern = served("gitweb", "/etc/gitweb.conf", () => `$projectroot = "${repos}";\n`);

  test("/gitweb is a 301 to /gitweb/, whose page links under /gitweb/, with its stylesheet, script and logo", async () => {
    const url = postern().url;
    expect(await get(`${url}/gitweb`)).toMatchObject({ status: 301, location: "/gitweb/" });
    const page = await get(`${url}/gitweb/`);
    expect([page.status, page.type]).toEqual([200, expect.stringMatching(/^text\/html/)]);
    expect(page.body).toMatch(/<title>[^<]*Git<\/title>/);
    expect(page.body).toContain('href="/gitweb/?p=demo.git;a=summary"');
    const css = await get(`${url}/gitweb/static/gitweb.css`);
    expect([css.status, css.type]).toEqual([200, expect.stringMatching(/^text\/css/)]);
    const js = await get(`${url}/gitweb/static/gitweb.js`);
    expect([js.status, js.type]).toEqual([200, expect.stringMatching(/javascript/)]);
    const logo = await get(`${url}/gitweb/static/git-logo.png`);
    expect([logo.status, logo.type]).toEqual([200, "image/png"]);
  }, 20_000);

  test("the program runs under each of its names, its source is never sent", async () => {
    const url = postern().url;
    for (const path of ["/gitweb/gitweb.cgi", "/gitweb/index.cgi", "/gitweb/static/../gitweb.cgi"]) {
      const answer = await get(url + path);
      expect(answer.body, path).not.toContain("#!/usr/bin/perl");
      expect(answer.body, path).not.toContain("use strict");
    }
  }, 20_000);
});
