// What the documentation says postern does where it once said otherwise:
// the README's php-cgi recipe runs as written (a route's path is not
// stripped: /legacy/a.php runs root + /legacy/a.php), and a symlink that
// leaves a root gets the one answer docs/security.md states for each
// gateway (static 404, cgi 403, fastcgi: no script, so the front controller
// or 404).

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { readmeBlock, substitute } from "./helpers/readme.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

const PHP_CGI = requireBinary(["php-cgi"], "php-cgi");
const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");

function write(root: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, ".."), { recursive: true });
    writeFileSync(join(root, name), text);
  }
}

describe.skipIf(!PHP_CGI)("the README's php-cgi recipe", () => {
  let dir: string;
  let postern: RunningPostern;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-recipe-legacy-"));
    write(dir, { "legacy/a.php": '<?php echo "legacy/a.php";', "a.php": '<?php echo "a.php at the root";' });
    giveToScriptUser(dir);
    const block = readmeBlock("toml", 'path = "/legacy/*"');
    postern = await startPostern(substitute(block, { "/srv/old-site": dir, '["php-cgi"]': JSON.stringify([PHP_CGI]) }));
  }, 30_000);
  afterAll(async () => {
    await postern?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("/legacy/a.php runs root + /legacy/a.php: the route's path is not stripped", async () => {
    const res = await fetch(`${postern.url}/legacy/a.php`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("legacy/a.php");
  });

  test("a path under /legacy/ that names no script is 404", async () => {
    expect((await fetch(`${postern.url}/legacy/missing.php`)).status).toBe(404);
  });
});

describe.skipIf(!PHP_FPM)("a symlink that leaves the root", () => {
  let dir: string;
  let fpm: PhpFpm;
  let postern: RunningPostern;
  const SECRET = "outside the root";
  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!);
    dir = mkdtempSync(join(tmpdir(), "postern-symlinks-"));
    const root = join(dir, "root");
    write(dir, {
      "outside/secret.txt": SECRET,
      "outside/secret.cgi": `#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n${SECRET}'\n`,
      "outside/secret.php": `<?php echo "${SECRET}";`,
      "root/g/index.php": '<?php echo "front controller";',
      "root/s/inside.txt": "inside",
    });
    for (const [link, target] of [
      ["s/leak.txt", "secret.txt"],
      ["c/leak.cgi", "secret.cgi"],
      ["f/leak.php", "secret.php"],
      ["g/leak.php", "secret.php"],
    ] as const) {
      mkdirSync(join(root, link, ".."), { recursive: true });
      symlinkSync(join(dir, "outside", target), join(root, link));
    }
    giveToScriptUser(dir);
    const backend = `unix:${fpm.socket}`;
    postern = await startPostern(
      [
        `[[routes]]\npath = "/s/*"\ngateway = "static"\nroot = "${root}"`,
        `[[routes]]\npath = "/c/*"\ngateway = "cgi"\nroot = "${root}"\nindex = []`,
        `[[routes]]\npath = "/f/*"\ngateway = "fastcgi"\nbackend = "${backend}"\nroot = "${root}"`,
        `[[routes]]\npath = "/g/*"\ngateway = "fastcgi"\nbackend = "${backend}"\nroot = "${root}"\nfront_controller = "/g/index.php"`,
      ].join("\n"),
    );
  }, 30_000);
  afterAll(async () => {
    await postern?.stop();
    await fpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ["static", "/s/leak.txt", 404, undefined],
    ["cgi", "/c/leak.cgi", 403, undefined],
    ["fastcgi", "/f/leak.php", 404, undefined],
    ["fastcgi with a front controller", "/g/leak.php", 200, "front controller"],
  ])("%s: %s is %i, never the file behind it", async (_, path, status, body) => {
    const res = await fetch(`${postern.url}${path}`);
    const text = await res.text();
    expect(res.status).toBe(status);
    expect(text).not.toContain(SECRET);
    if (body !== undefined) expect(text).toBe(body);
  });

  test("a file inside the root is served", async () => {
    expect(await (await fetch(`${postern.url}/s/inside.txt`)).text()).toBe("inside");
  });
});
