// The README's library example, as a user runs it: its `npm install postern
// hono` (the packed checkout, test/helpers/packed.ts), its code saved as
// server.mjs with this machine's paths, and plain `node server.mjs`. Its hono
// route, its CGI route, its static files and its PHP front controller answer.

import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { npmEnv, packedProject, type PackedProject } from "./helpers/packed.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { freePort } from "./helpers/ports.ts";
import { readmeBlock, readmeBlocks, substitute } from "./helpers/readme.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const PERL = requireBinary(["perl"], "perl");

test("the README says what to install for its library example", () => {
  expect(readmeBlocks("sh")).toContain("npm install postern hono\n");
});

describe.skipIf(!PHP_FPM || !PERL)("the README's library example, saved as server.mjs in a project that installed the package", { timeout: 90_000 }, () => {
  let project: PackedProject | undefined;
  let fpm: PhpFpm | undefined;
  let proc: ChildProcess | undefined;
  let url = "";
  let log = "";

  beforeAll(async () => {
    project = await packedProject();
    fpm = await startPhpFpm(PHP_FPM!);
    const site = join(project.dir, "site");
    mkdirSync(join(site, "public"), { recursive: true });
    mkdirSync(join(site, "cgi/cgi-bin"), { recursive: true });
    writeFileSync(join(site, "public/index.php"), '<?php echo "front controller for ", $_SERVER["REQUEST_URI"];');
    writeFileSync(join(site, "public/style.css"), "body{}");
    writeFileSync(join(site, "cgi/cgi-bin/hello.pl"), 'print "Content-Type: text/plain\\n\\nhello from perl\\n";\n');
    // Scripts run as nobody when the tests run as root: the directories on the way must be open to them.
    for (const open of [dirname(project.dir), project.dir]) chmodSync(open, 0o755);
    giveToScriptUser(site);
    const port = await freePort();
    const code = substitute(readmeBlock("js", 'from "postern"'), {
      '"127.0.0.1:8080"': `"127.0.0.1:${port}"`,
      "/var/www/html/public": join(site, "public"),
      "unix:/run/php/php8.2-fpm.sock": `unix:${fpm.socket}`,
      '"/srv/www"': JSON.stringify(join(site, "cgi")),
    });
    writeFileSync(join(project.dir, "server.mjs"), code);
    proc = spawn(process.execPath, ["server.mjs"], { cwd: project.dir, detached: true, stdio: ["ignore", "pipe", "pipe"], env: npmEnv() });
    proc.stdout!.on("data", (d) => (log += d));
    proc.stderr!.on("data", (d) => (log += d));
    await waitForPort(proc, port, "node server.mjs", () => log, 60_000);
    url = `http://127.0.0.1:${port}`;
  }, 300_000);

  afterAll(async () => {
    if (proc) await stopProcessGroup(proc, "SIGTERM");
    await fpm?.stop();
    await project?.cleanup();
  });

  test.each([
    ["/api/health", '{"ok":true}'],
    ["/cgi-bin/hello.pl", "hello from perl\n"],
    ["/style.css", "body{}"],
    ["/blog/a-post", "front controller for /blog/a-post"],
  ])("%s answers", async (path, body) => {
    const res = await fetch(`${url}${path}`);
    expect(await res.text(), log).toBe(body);
    expect(res.status).toBe(200);
  });
});
