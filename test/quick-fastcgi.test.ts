// `postern fastcgi --root DIR --backend ADDR` serves a whole PHP site, as
// caddy php-server and frankenphp php-server do: a file is sent as it is, a
// .php script runs on the real php-fpm, with --front-controller every other
// path runs that script, and a PHP source is never sent.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, stopPostern, type Served } from "./helpers/postern-cli.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");

describe.skipIf(!PHP_FPM)("postern fastcgi: a PHP site", () => {
  let fpm: PhpFpm;
  let site: string;
  let served: Served | undefined;
  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!);
    site = mkdtempSync(join(tmpdir(), "postern-php-site-"));
    mkdirSync(join(site, "assets"));
    mkdirSync(join(site, "docs"));
    writeFileSync(join(site, "assets/site.css"), "body { color: teal }\n");
    writeFileSync(join(site, "docs/index.html"), "<p>the docs</p>\n");
    // Each script's source holds a word its output does not, so a leak shows.
    writeFileSync(join(site, "page.php"), '<?php /* page-source */ echo "page ran\\n";\n');
    writeFileSync(join(site, "index.php"), '<?php /* front-source */ echo "front: ", $_SERVER["REQUEST_URI"], "\\n";\n');
    writeFileSync(join(site, "config.inc.php"), '<?php /* secret-source */ $password = "hunter2";\n');
    // What editors and deploys leave beside a script: its source under a name no longer ending in .php.
    for (const backup of ["config.inc.php~", "config.inc.php.bak", "config.inc.php.orig", "config.inc.php.save", "config.inc.php.old", "#config.inc.php#", ".config.inc.php.swp"]) {
      writeFileSync(join(site, backup), '<?php /* secret-source */ $password = "hunter2";\n');
    }
    // PHP's and Apache's per-directory settings: php-fpm reads them, no client may.
    writeFileSync(join(site, ".user.ini"), "; hunter2-source\nupload_max_filesize = 1M\n");
    writeFileSync(join(site, ".htaccess"), "# hunter2-source\nDeny from all\n");
  });
  afterEach(async () => {
    await stopPostern(served);
    served = undefined;
  });
  afterAll(async () => {
    await fpm?.stop();
    if (site) rmSync(site, { recursive: true, force: true });
  });

  test("a file is sent by postern, a .php runs, any other path runs the front controller", async () => {
    served = await startPostern(["fastcgi", "--backend", `unix:${fpm.socket}`, "--root", site, "--front-controller", "/index.php", "-b", "127.0.0.1:0"]);
    const css = await fetch(`${served.url}/assets/site.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
    expect(await css.text()).toBe("body { color: teal }\n");
    expect(await (await fetch(`${served.url}/docs/`)).text()).toBe("<p>the docs</p>\n");
    expect(await (await fetch(`${served.url}/page.php`)).text()).toBe("page ran\n");
    expect(await (await fetch(`${served.url}/blog/2024/hello?x=1`)).text()).toBe("front: /blog/2024/hello?x=1\n");
    expect(await (await fetch(`${served.url}/`)).text()).toBe("front: /\n");
    // The files went out from postern: php-fpm saw only the scripts.
    expect(fpm.served().some((line) => line.includes("site.css") || line.includes("docs"))).toBe(false);
  });

  test("a PHP source is never sent, however it is asked for", async () => {
    served = await startPostern(["fastcgi", "--backend", `unix:${fpm.socket}`, "--root", site, "--front-controller", "/index.php", "-b", "127.0.0.1:0"]);
    for (const path of ["/page.php", "/index.php", "/config.inc.php", "/PAGE.PHP", "/page.php.", "/page.php%20", "/page.php/x", "/./config.inc.php"]) {
      const text = await (await fetch(`${served.url}${path}`)).text();
      expect({ path, leaked: /-source|hunter2/.test(text) }).toEqual({ path, leaked: false });
    }
  });

  test("an editor's backup of a script and the per-directory settings files are never sent", async () => {
    served = await startPostern(["fastcgi", "--backend", `unix:${fpm.socket}`, "--root", site, "--front-controller", "/index.php", "-b", "127.0.0.1:0"]);
    for (const name of ["config.inc.php~", "config.inc.php.bak", "config.inc.php.orig", "config.inc.php.save", "config.inc.php.old", "#config.inc.php#", ".config.inc.php.swp", ".user.ini", ".htaccess", "CONFIG.INC.PHP.BAK"]) {
      const text = await (await fetch(`${served.url}/${encodeURIComponent(name)}`)).text();
      expect({ name, leaked: /-source|hunter2/.test(text) }).toEqual({ name, leaked: false });
    }
  });

  test("without --front-controller, a path that names no file or script is 404", async () => {
    served = await startPostern(["fastcgi", "--backend", `unix:${fpm.socket}`, "--root", site, "-b", "127.0.0.1:0"]);
    expect((await fetch(`${served.url}/blog/2024/hello`)).status).toBe(404);
    expect(await (await fetch(`${served.url}/assets/site.css`)).text()).toBe("body { color: teal }\n");
    expect(await (await fetch(`${served.url}/page.php`)).text()).toBe("page ran\n");
  });
});
