// Which files a static route leaves to the routes after it: those a script
// route sharing its root (by real path) would run, whatever deny_extensions
// says; those deny_extensions names, where it cannot see the routes
// (staticFiles in a hand-written app); and what `postern check` warns about.

import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { configWarnings, createGateway, gatewaySchemas } from "../gateways/index.ts";
import { parseConfig } from "../src/config.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { readmeBlock, substitute } from "./helpers/readme.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const BIN = join(import.meta.dirname, "../bin/postern.js");
const SOURCE = "SOURCE-MARKER";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-static-deny-"));
  // The cgi route's programs run as nobody when the tests run as root.
  giveToScriptUser(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `files` under `root` (name -> text; a mode after the text makes it executable). */
function write(root: string, files: Record<string, string | [string, number]>): string {
  for (const [name, content] of Object.entries(files)) {
    const [text, mode] = typeof content === "string" ? [content, 0o644] : content;
    mkdirSync(join(root, name, ".."), { recursive: true });
    writeFileSync(join(root, name), text);
    chmodSync(join(root, name), mode);
  }
  return root;
}

const route = (keys: Record<string, string>, ...lines: string[]) =>
  ["[[routes]]", ...Object.entries(keys).map(([k, v]) => `${k} = ${JSON.stringify(v)}`), ...lines, ""].join("\n");

describe.skipIf(!PHP_FPM)("a fastcgi route sharing the root: its scripts run, even with deny_extensions = []", () => {
  let fpm: PhpFpm;
  const running: RunningPostern[] = [];
  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!);
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await fpm?.stop();
  });

  /** postern with a static route on `staticRoot` (no deny_extensions) before a fastcgi route on `phpRoot`. */
  async function start(staticRoot: string, phpRoot: string, fastcgi: Record<string, string> = {}): Promise<string> {
    const toml =
      route({ path: "*", gateway: "static", root: staticRoot }, "deny_extensions = []") +
      route({ path: "*", gateway: "fastcgi", backend: `unix:${fpm.socket}`, root: phpRoot, ...fastcgi });
    const postern = await startPostern(toml);
    running.push(postern);
    return postern.url;
  }

  test("the same root: /secret.php and /secret.ph%70 run PHP, /front.inc (the front controller) is not served", async () => {
    const root = write(join(dir, "same"), {
      "secret.php": `<?php echo "ran"; // ${SOURCE}`,
      "front.inc": `<?php echo "front"; // ${SOURCE}`,
      "notes.txt": "plain",
    });
    const url = await start(root, root, { front_controller: "/front.inc" });
    expect(await (await fetch(`${url}/secret.php`)).text()).toBe("ran");
    expect(await (await fetch(`${url}/secret.ph%70`)).text()).toBe("ran");
    expect(await (await fetch(`${url}/front.inc`)).text()).not.toContain(SOURCE);
    expect(await (await fetch(`${url}/notes.txt`)).text()).toBe("plain");
  });

  test("the PHP root holds the static one: its scripts inside are not served", async () => {
    const root = write(join(dir, "outer"), { "public/secret.php": `<?php echo "ran"; // ${SOURCE}`, "public/app.js": "js" });
    const url = await start(join(root, "public"), root);
    expect(await (await fetch(`${url}/secret.php`)).text()).not.toContain(SOURCE);
    expect(await (await fetch(`${url}/public/secret.php`)).text()).toBe("ran");
    expect(await (await fetch(`${url}/app.js`)).text()).toBe("js");
  });

  test("the static root holds the PHP one, through a symlink: the scripts in it are not served", async () => {
    const root = write(join(dir, "inner"), { "app/secret.php": `<?php echo "ran"; // ${SOURCE}` });
    symlinkSync(join(root, "app"), join(dir, "inner-link"));
    const url = await start(root, join(dir, "inner-link"));
    expect(await (await fetch(`${url}/app/secret.php`)).text()).not.toContain(SOURCE);
  });

  test("roots that share nothing: the static route serves its own .php files (deny_extensions = [])", async () => {
    const files = write(join(dir, "apart/files"), { "download.php": "<?php // a file to download" });
    const php = write(join(dir, "apart/php"), { "index.php": "<?php echo 1;" });
    const url = await start(files, php);
    expect(await (await fetch(`${url}/download.php`)).text()).toBe("<?php // a file to download");
  });
});

describe("a cgi route sharing the root: its programs run, even with deny_extensions = []", () => {
  let postern: RunningPostern;
  beforeAll(async () => {
    const root = write(join(dir, "cgi"), {
      tool: ["#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nran tool'\n", 0o755],
      "job.xyz": `printf 'Content-Type: text/plain\\n\\nran job'\n# ${SOURCE}\n`,
      "notes.txt": "plain",
    });
    postern = await startPostern(
      route({ path: "*", gateway: "static", root }, "deny_extensions = []") +
        route({ path: "*", gateway: "cgi", root }, 'interpreters = { ".xyz" = "sh" }'),
    );
  });
  afterAll(async () => {
    await postern?.stop();
  });

  test.each([
    ["/tool", "ran tool"],
    ["/job.xyz", "ran job"],
    ["/notes.txt", "plain"],
  ])("%s -> %s", async (path, answer) => {
    expect(await (await fetch(postern.url + path)).text()).toBe(answer);
  });
});

describe("deny_extensions (staticFiles in a hand-written app)", () => {
  let root: string;
  beforeAll(() => {
    root = write(join(dir, "library"), {
      "a.php": SOURCE,
      "b.PhTmL": SOURCE,
      "install.sh": SOURCE,
      "old.php. .": SOURCE,
      "c.pl::$DATA": SOURCE,
      "ｄ.ｐｈｐ": SOURCE,
      "config.php~": SOURCE,
      "#config.php#": SOURCE,
      "wp-config.php.bak": SOURCE,
      "settings.py.orig": SOURCE,
      "index.php.save": SOURCE,
      "run.cgi.old": SOURCE,
      "page.html": "<p>page</p>",
      "notes.txt": "plain",
    });
  });

  async function app(options: Record<string, unknown> = {}): Promise<Hono> {
    const handler = createGateway("static", nodeRuntime, { root, ...options });
    await handler.ready;
    return new Hono().get("*", handler).get("*", (c) => c.text("next route"));
  }

  test.each(["/a.php", "/b.PhTmL", "/install.sh", "/old.php.%20.", "/c.pl::$DATA", "/%EF%BD%84.%EF%BD%90%EF%BD%88%EF%BD%90",
    // What editors and deploys leave beside a script holds its source under a name no route runs.
    "/config.php~", "/%23config.php%23", "/wp-config.php.bak", "/settings.py.orig", "/index.php.save", "/run.cgi.old"])(
    "by default %s goes on to the next route",
    async (path) => {
      expect(await (await (await app()).request(path)).text()).toBe("next route");
    },
  );

  test("other files are served", async () => {
    expect(await (await (await app()).request("/page.html")).text()).toBe("<p>page</p>");
  });

  test("a script among the index names is passed over for the next index", async () => {
    expect(await (await (await app({ index: ["a.php", "page.html"] })).request("/")).text()).toBe("<p>page</p>");
    expect(await (await (await app({ index: ["a.php"] })).request("/")).text()).toBe("next route");
  });

  test("fallthrough = false: a denied file is 404, as no file", async () => {
    const res = await (await app({ fallthrough: false })).request("/a.php");
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain(SOURCE);
  });

  test("[] serves them", async () => {
    expect(await (await (await app({ deny_extensions: [] })).request("/install.sh")).text()).toBe(SOURCE);
  });

  test("a list of its own replaces the default", async () => {
    const custom = await app({ deny_extensions: [".txt"] });
    expect(await (await custom.request("/notes.txt")).text()).toBe("next route");
    expect(await (await custom.request("/a.php")).text()).toBe(SOURCE);
  });

  test.each(["php", ".", "", ".php."])("%j is refused, naming the key and the line", (entry) => {
    const toml = route({ gateway: "static", root }, `deny_extensions = [".sh", ${JSON.stringify(entry)}]`);
    expect(() => parseConfig(toml, "test.toml", gatewaySchemas)).toThrow(`test.toml:4: routes[0].deny_extensions: ${JSON.stringify(entry)}: entries are`);
  });
});

describe("postern check warns about a static root a script route shares", () => {
  const warningsOf = async (toml: string) =>
    (await configWarnings(parseConfig(toml, "test.toml", gatewaySchemas), nodeRuntime, dir)).map((w) => `${w.line}: ${w.message}`);

  test("a wasi interpreter route on the same root, and one inside it", async () => {
    write(join(dir, "rb"), { "scripts/hello.rb": "puts 1" });
    const toml =
      route({ path: "*", gateway: "static", root: "rb" }) +
      route({ path: "/rb/*", gateway: "wasi", interpreter: "ruby", module: "ruby.wasm", root: "rb" }) +
      route({ path: "/s/*", gateway: "wasi", interpreter: "ruby", module: "ruby.wasm", root: "rb/scripts" });
    expect(await warningsOf(toml)).toEqual([
      `1: routes[0] (static *) shares files with routes[1] (wasi /rb/*) (root ${dir}/rb): it never serves what that route runs (*.rb, index.rb); such requests go on to the next route`,
      `1: routes[0] (static *) shares files with routes[2] (wasi /s/*) (root ${dir}/rb/scripts): it never serves what that route runs (*.rb, index.rb); such requests go on to the next route`,
    ]);
  });

  test("a script route after the static one on its path, or on every path, runs what it hands on: no warning", async () => {
    write(join(dir, "site"), { "index.php": "<?php" });
    const toml =
      route({ path: "/wiki/*", gateway: "static", root: "site" }) +
      route({ path: "/wiki/*", gateway: "fastcgi", backend: "127.0.0.1:9000", root: "site" }) +
      route({ path: "*", gateway: "static", root: "site" }) +
      route({ path: "*", gateway: "fastcgi", backend: "127.0.0.1:9000", root: "site" });
    expect(await warningsOf(toml)).toEqual([]);
  });

  test("a script route before the static one, or on another path, is still a warning", async () => {
    write(join(dir, "site"), { "index.php": "<?php" });
    const toml =
      route({ path: "/php/*", gateway: "fastcgi", backend: "127.0.0.1:9000", root: "site" }) +
      route({ path: "/files/*", gateway: "static", root: "site" });
    expect(await warningsOf(toml)).toHaveLength(1);
  });

  test("roots that share nothing, or do not exist: no warning", async () => {
    write(join(dir, "w1"), { "a.txt": "" });
    write(join(dir, "w2"), { "a.txt": "" });
    const toml =
      route({ path: "*", gateway: "static", root: "w1" }) +
      route({ path: "/x/*", gateway: "cgi", root: "w2" }) +
      route({ path: "/y/*", gateway: "cgi", root: "absent" }) +
      route({ path: "/z/*", gateway: "wasi", module: "w1/x.wasm" });
    expect(await warningsOf(toml)).toEqual([]);
  });

  test("the README's postern.toml, files first then PHP on the same path: no warning, exit status 0", () => {
    const app = write(join(dir, "readme/public"), { "index.php": "<?php" });
    const file = join(dir, "readme/postern.toml");
    writeFileSync(file, substitute(readmeBlock("toml", "Laravel"), { "/var/www/app/public": app }));
    const { status, stdout, stderr } = spawnSync(process.execPath, [BIN, "check", "--config", file], { encoding: "utf8", timeout: 20_000 });
    expect(status).toBe(0);
    expect(stdout).toBe(`${file}: ok (2 routes)\n`);
    expect(stderr).toBe("");
  });

  test("the warning docs/gateways/static.md shows, on stderr, exit status 0", () => {
    const root = write(join(dir, "shown/app"), { "index.php": "<?php" });
    const file = join(dir, "shown/postern.toml");
    const toml = ["[[routes]]", 'path = "/files/*"', 'gateway = "static"', `root = "${root}"`, "", "[[routes]]", 'path = "/app/*"', 'gateway = "fastcgi"', 'backend = "127.0.0.1:9000"', `root = "${root}"`, ""];
    writeFileSync(file, toml.join("\n"));
    const { status, stderr } = spawnSync(process.execPath, [BIN, "check", "--config", file], { encoding: "utf8", timeout: 20_000 });
    expect(status).toBe(0);
    const shown = readmeBlock("", "warning: routes[0] (static /files/*)").trim();
    expect(stderr.trim()).toBe(shown.replace("postern.toml", file).replace("/srv/app", root));
  });
});
