// DokuWiki, Adminer and WordPress from Debian's packages behind postern with
// examples/apps/<app>.toml as written and a real php-fpm: what a person
// sees (the page, its stylesheets and scripts with their types, the 301 to a
// directory's slash), and what nobody may see (a script's source, the
// library and tool directories lighttpd's shipped config denies).

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEBIAN_FPM, get, installed, serveApp } from "./helpers/apps.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import type { RunningPostern } from "./helpers/postern.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");

let fpm: PhpFpm;
beforeAll(async () => {
  if (PHP_FPM) fpm = await startPhpFpm(PHP_FPM, { children: 2 });
});
afterAll(async () => {
  await fpm?.stop();
});

/** Serves an app's example for the tests of its block, on this file's php-fpm. */
function served(app: string): () => RunningPostern {
  let postern: RunningPostern;
  beforeAll(async () => {
    postern = await serveApp(app, { [DEBIAN_FPM]: `unix:${fpm.socket}` });
  });
  afterAll(async () => {
    await postern?.stop();
  });
  return () => postern;
}

describe.skipIf(!PHP_FPM || !installed("/usr/share/dokuwiki/doku.php"))("DokuWiki at /dokuwiki/", () => {
  const postern = served("dokuwiki");

  test("/dokuwiki is a 301 to /dokuwiki/, which runs doku.php", async () => {
    const url = postern().url;
    expect(await get(`${url}/dokuwiki`)).toMatchObject({ status: 301, location: "/dokuwiki/" });
    const page = await get(`${url}/dokuwiki/`);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.body).toContain("<title>start [Debian DokuWiki]</title>");
    // DokuWiki builds its links from SCRIPT_NAME: the prefix is in them.
    expect(page.body).toContain('href="/dokuwiki/lib/exe/css.php');
  }, 20_000);

  test("its stylesheet and script (nested scripts), and the template's images through Debian's symlink", async () => {
    const url = postern().url;
    const css = await get(`${url}/dokuwiki/lib/exe/css.php`);
    expect([css.status, css.type]).toEqual([200, expect.stringMatching(/^text\/css/)]);
    expect(css.body).toContain("{");
    const js = await get(`${url}/dokuwiki/lib/exe/js.php`);
    expect([js.status, js.type]).toEqual([200, expect.stringMatching(/^application\/javascript/)]);
    const logo = await get(`${url}/dokuwiki/lib/tpl/dokuwiki/images/logo.png`);
    expect([logo.status, logo.type]).toEqual([200, "image/png"]);
    expect(await get(`${url}/dokuwiki/lib`)).toMatchObject({ status: 301, location: "/dokuwiki/lib/" });
  }, 20_000);

  test("no source, no library, tools, settings or pages", async () => {
    const url = postern().url;
    for (const path of ["/dokuwiki/doku.php", "/dokuwiki/lib/exe/fetch.php", "/dokuwiki/install.php"]) {
      expect((await get(url + path)).body, path).not.toContain("<?php");
    }
    // Denied as lighttpd's url.access-deny denies them, whatever the file.
    for (const path of ["/dokuwiki/inc/init.php", "/dokuwiki/inc/lang/en/edit.txt", "/dokuwiki/inc/", "/dokuwiki/bin/dwpage.php", "/dokuwiki/vendor/autoload.php"]) {
      const answer = await get(url + path);
      expect(answer.status, path).toBe(403);
      expect(answer.body, path).not.toContain("<?php");
    }
    for (const path of [
      "/dokuwiki/.htaccess",
      "/dokuwiki/conf/local.php",
      "/dokuwiki/data/pages/wiki/dokuwiki.txt",
      "/dokuwiki/doku.php~",
    ]) {
      const answer = await get(url + path);
      expect([403, 404], `${path}: ${answer.status}`).toContain(answer.status);
      expect(answer.body, path).not.toContain("<?php");
    }
  }, 20_000);
});

describe.skipIf(!PHP_FPM || !installed("/usr/share/adminer/adminer.php"))("Adminer at /adminer/", () => {
  const postern = served("adminer");

  test("the login page, its stylesheet and script, from the one script", async () => {
    const url = postern().url;
    const page = await get(`${url}/adminer/`);
    expect([page.status, page.type]).toEqual([200, expect.stringMatching(/^text\/html/)]);
    expect(page.body).toMatch(/<title>Login - Adminer<\/title>/);
    const css = page.body.match(/href="([^"]*file=default\.css[^"]*)"/)?.[1]?.replaceAll("&amp;", "&");
    expect(css).toBeDefined();
    const sheet = await get(new URL(css!, `${url}/adminer/`).href);
    expect([sheet.status, sheet.type]).toEqual([200, expect.stringMatching(/^text\/css/)]);
    const js = page.body.match(/src='([^']*file=functions\.js[^']*)'/)?.[1]?.replaceAll("&amp;", "&");
    expect(js).toBeDefined();
    const script = await get(new URL(js!, `${url}/adminer/`).href);
    expect([script.status, script.type]).toEqual([200, expect.stringMatching(/javascript/)]);
  }, 20_000);

  test("nothing else of its directory: every path runs adminer.php, never sends a file", async () => {
    const url = postern().url;
    for (const path of ["/adminer/adminer.php", "/adminer/compile.php", "/adminer/lang.php"]) {
      expect((await get(url + path)).body, path).not.toContain("<?php");
    }
  }, 20_000);
});

describe.skipIf(!PHP_FPM || !installed("/usr/share/wordpress/wp-login.php"))("WordPress at /blog/", () => {
  const postern = served("wordpress");

  test("its static files with their types, and /blog/wp-admin is a 301 to its slash", async () => {
    const url = postern().url;
    const readme = await get(`${url}/blog/readme.html`);
    expect([readme.status, readme.type]).toEqual([200, expect.stringMatching(/^text\/html/)]);
    expect(readme.body).toContain("WordPress");
    const css = await get(`${url}/blog/wp-includes/css/buttons.css`);
    expect([css.status, css.type]).toEqual([200, expect.stringMatching(/^text\/css/)]);
    const js = await get(`${url}/blog/wp-includes/js/admin-bar.js`);
    expect([js.status, js.type]).toEqual([200, expect.stringMatching(/javascript/)]);
    expect(await get(`${url}/blog/wp-admin`)).toMatchObject({ status: 301, location: "/blog/wp-admin/" });
  }, 20_000);

  test("PHP runs, its source is never sent (wp-config.php above all)", async () => {
    const url = postern().url;
    // Without /etc/wordpress/config-127.0.0.1.php Debian's wp-config.php
    // answers 404 with the file it looked for: PHP ran it.
    const page = await get(`${url}/blog/`);
    expect(page.body).toContain("/etc/wordpress/config-127.0.0.1.php");
    const permalink = await get(`${url}/blog/2024/01/hello/`);
    expect(permalink.body).toContain("/etc/wordpress/config-127.0.0.1.php");
    for (const path of ["/blog/wp-config.php", "/blog/wp-login.php", "/blog/wp-admin/setup-config.php", "/blog/wp-content/plugins/index.php"]) {
      const answer = await get(url + path);
      expect(answer.body, path).not.toContain("<?php");
      expect(answer.body, path).not.toContain("DB_PASSWORD");
    }
  }, 20_000);
});
