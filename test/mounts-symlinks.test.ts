// follow_symlinks on static, cgi and fastcgi routes: a symlink that leads out
// of the root is refused by default (and the refusal logged with the link and
// its target), followed with "owner" when the link and its target have the
// same owner (nginx's disable_symlinks if_not_owner: the owner comes from the
// Runtime's stat, so this is checked on Node, Deno and Bun), and always with
// `true`. Against Debian's gitweb, whose /usr/lib/cgi-bin/gitweb.cgi is such
// a link, run through the native spawner (what runs is what was checked), and
// a real php-fpm.

import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lchownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { startPostern as startCli, stopPostern, type Served } from "./helpers/postern-cli.ts";
import type { CliRuntime } from "./helpers/postern-cli.ts";
import { giveToScriptUser, SCRIPT_USER } from "./helpers/script-user.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const GIT = requireBinary(["git"], "git");
/** Debian's gitweb package: a link in cgi-bin to its program in /usr/share/gitweb. */
const GITWEB_LINK = "/usr/lib/cgi-bin/gitweb.cgi";
const HAS_GITWEB = existsSync(GITWEB_LINK);
if (!HAS_GITWEB && process.env.CI) throw new Error(`${GITWEB_LINK} not found: install it with \`apt-get install -y gitweb\``);
/** Owners differ only where the tests may give a file away (as root). */
const AS_ROOT = SCRIPT_USER !== undefined;

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-symlinks-"));
  // Scripts run as nobody: they reach the repositories and config under it.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, "outside"));
  mkdirSync(join(dir, "www"));
  writeFileSync(join(dir, "outside/same.txt"), "same owner\n");
  writeFileSync(join(dir, "outside/other.txt"), "other owner\n");
  writeFileSync(join(dir, "outside/x.php"), '<?php echo "outside php";');
  writeFileSync(join(dir, "www/inside.txt"), "inside\n");
  symlinkSync("../outside/same.txt", join(dir, "www/same.txt"));
  symlinkSync("../outside/other.txt", join(dir, "www/other.txt"));
  symlinkSync("../outside/x.php", join(dir, "www/x.php"));
  // The link is root's, what it points to nobody's: as a user of the root planting a link to another's file.
  if (AS_ROOT) lchownSync(join(dir, "www/other.txt"), 0, 0);
  giveToScriptUser(join(dir, "outside"));
  if (AS_ROOT) for (const name of ["same.txt", "x.php"]) lchownSync(join(dir, "www", name), SCRIPT_USER!.uid, SCRIPT_USER!.gid);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Static routes at /never/, /owner/ and /always/ over the same root. */
function staticRoutes(): string {
  return (["false", '"owner"', "true"] as const)
    .map((setting, i) => `[[routes]]\npath = "/${["never", "owner", "always"][i]}/*"\ngateway = "static"\nroot = "${dir}/www"\nstrip_prefix = true\nfollow_symlinks = ${setting}\n`)
    .join("\n");
}

const status = async (url: string) => (await fetch(url)).status;

describe("static routes, in process: every refusal is logged", () => {
  let postern: RunningPostern;
  beforeAll(async () => {
    postern = await startPostern(staticRoutes());
  });
  afterAll(async () => postern?.stop());

  test("false refuses a link out of the root and logs the link and its target; a file inside is served", async () => {
    expect(await status(`${postern.url}/never/inside.txt`)).toBe(200);
    expect(await status(`${postern.url}/never/same.txt`)).toBe(404);
    expect(postern.errors.join("\n")).toContain(`${dir}/www/same.txt is a symlink to ${dir}/outside/same.txt, outside the root ${dir}/www (follow_symlinks = false)`);
  });

  test.skipIf(!AS_ROOT)('"owner" follows a link to its owner\'s file, refuses one to another\'s and says whose', async () => {
    const res = await fetch(`${postern.url}/owner/same.txt`);
    expect([res.status, await res.text()]).toEqual([200, "same owner\n"]);
    expect(await status(`${postern.url}/owner/other.txt`)).toBe(404);
    expect(postern.errors.join("\n")).toContain(`${dir}/www/other.txt is a symlink to ${dir}/outside/other.txt, outside the root ${dir}/www (follow_symlinks = "owner": the link is uid 0's, its target uid ${SCRIPT_USER!.uid}'s)`);
  });

  test("true follows every link", async () => {
    expect(await status(`${postern.url}/always/same.txt`)).toBe(200);
    expect(await status(`${postern.url}/always/other.txt`)).toBe(200);
  });
});

// The owner is the Runtime's stat (st_uid): each runtime's own.
describe.skipIf(!AS_ROOT).each(["node", "deno", "bun"] as CliRuntime[])('"owner" on %s', (runtime) => {
  let served: Served | undefined;
  afterAll(async () => stopPostern(served));

  test("a link to its owner's file is followed, one to another's refused", async () => {
    const config = join(dir, `postern-${runtime}.toml`);
    writeFileSync(config, `listen = ["127.0.0.1:0"]\naccess_log = false\n${staticRoutes()}`);
    served = await startCli(["serve", "--config", config], { runtime });
    expect(await status(`${served.url}/owner/same.txt`)).toBe(200);
    expect(await status(`${served.url}/owner/other.txt`)).toBe(404);
    expect(await status(`${served.url}/never/same.txt`)).toBe(404);
    // The error log is written as the runtime gets to it: waited for, not raced.
    await expect.poll(served.stderr, { timeout: 10_000 }).toContain(`${dir}/www/other.txt is a symlink to ${dir}/outside/other.txt`);
  }, 60_000);
});

describe.skipIf(!PHP_FPM)("a fastcgi route with php-fpm", () => {
  let fpm: PhpFpm;
  let postern: RunningPostern;
  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!);
    postern = await startPostern(
      ["false", '"owner"']
        .map((setting, i) => `[[routes]]\npath = "/${["never", "owner"][i]}/*"\ngateway = "fastcgi"\nbackend = "unix:${fpm.socket}"\nroot = "${dir}/www"\nstrip_prefix = true\nfollow_symlinks = ${setting}\n`)
        .join("\n"),
    );
  });
  afterAll(async () => {
    await postern?.stop();
    await fpm?.stop();
  });

  test("a script behind a link out of the root: no script (404, logged) by default, run with \"owner\"", async () => {
    expect(await status(`${postern.url}/never/x.php`)).toBe(404);
    expect(postern.errors.join("\n")).toContain(`${dir}/www/x.php is a symlink to ${dir}/outside/x.php`);
    expect(fpm.served().some((line) => line.includes("/x.php"))).toBe(false);
    const res = await fetch(`${postern.url}/owner/x.php`);
    expect([res.status, await res.text()]).toEqual([200, "outside php"]);
  });
});

describe.skipIf(!HAS_GITWEB || !GIT)("Debian's /usr/lib/cgi-bin/gitweb.cgi, a link to /usr/share/gitweb", () => {
  let postern: RunningPostern;
  beforeAll(async () => {
    const repos = join(dir, "repos");
    execFileSync(GIT!, ["init", "--quiet", "--bare", join(repos, "demo.git")]);
    writeFileSync(join(repos, "demo.git/description"), "the demo repository\n");
    writeFileSync(join(dir, "gitweb.conf"), `$projectroot = "${repos}";\n`);
    giveToScriptUser(repos);
    giveToScriptUser(join(dir, "gitweb.conf"));
    const route = (path: string, extra: string) =>
      `[[routes]]\npath = "${path}/*"\ngateway = "cgi"\nroot = "/usr/lib/cgi-bin"\nstrip_prefix = true\nenv = { GITWEB_CONFIG = "${dir}/gitweb.conf" }\n${extra}\n`;
    postern = await startPostern(
      [
        route("/refused", ""),
        route("/spawner", 'follow_symlinks = "owner"'),
        route("/direct", 'follow_symlinks = "owner"\nspawn_helper = false'),
      ].join("\n"),
    );
  });
  afterAll(async () => postern?.stop());

  test("refused by default (403, logged), run with \"owner\" through the native spawner and the runtime's spawn", async () => {
    expect(await status(`${postern.url}/refused/gitweb.cgi`)).toBe(403);
    expect(postern.errors.join("\n")).toContain("/usr/lib/cgi-bin/gitweb.cgi is a symlink to /usr/share/gitweb/gitweb.cgi");
    for (const mount of ["/spawner", "/direct"]) {
      const res = await fetch(`${postern.url}${mount}/gitweb.cgi`);
      expect([mount, res.status]).toEqual([mount, 200]);
      expect(await res.text()).toContain("the demo repository");
    }
  }, 60_000);
});
