// A static route never serves what a script route would run: the README's
// two PHP examples (the postern.toml one and the library one), loaded as
// they are written, in front of a real php-fpm. Every request for a script's
// bytes (`/wp-config.php`, its encoded, case-changed, trailing-dot and
// symlinked spellings) runs PHP or finds nothing; none returns the source.
// Then the other examples' static files: none is a script.

import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { transformSync } from "esbuild";
import { parse } from "smol-toml";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createApp, gatewaySchemas } from "../gateways/index.ts";
import { DENY_EXTENSIONS } from "../gateways/static/options.ts";
import { parseConfig } from "../src/config.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { docText, readmeBlock, readmeBlocks, substitute } from "./helpers/readme.ts";
import { recordingPostern, type RecordingPostern } from "./helpers/recording-postern.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { serve, type RunningServer } from "../runtimes/node/serve.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const SOURCE = "SOURCE-MARKER-DB-PASSWORD";
const REPO = join(import.meta.dirname, "..");

/** A PHP application's public directory: a front controller, a config with a secret, an asset. */
function writeApp(dir: string): { publicDir: string } {
  const publicDir = join(dir, "public");
  mkdirSync(join(publicDir, "sub"), { recursive: true });
  const secret = `<?php $password = "${SOURCE}";\n`;
  const files: Record<string, string> = {
    "index.php": `<?php echo "ran ", $_SERVER["SCRIPT_NAME"], " path_info=", $_SERVER["PATH_INFO"] ?? "", "\\n";\n`,
    "wp-config.php": secret,
    "sub/index.php": secret,
    // Names a script route would not run on Linux, that another filesystem or backend would.
    "legacy.PHP": secret,
    "old.php.": secret,
    "tool.phtml": secret,
    "tool.phar": secret,
    "style.css": "body{}",
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(publicDir, name), text);
  // A symlink with an innocent name to a script.
  symlinkSync(join(publicDir, "wp-config.php"), join(publicDir, "config.txt"));
  return { publicDir };
}

/** Requests for a script's bytes: each must run PHP or find nothing, never answer the source. */
const ATTACKS: [string, RequestInit?][] = [
  ["/wp-config.php"],
  ["/index.php"],
  ["/wp-config.ph%70"],
  ["/wp-config%2Ephp"],
  ["/%77p-config.php"],
  ["//wp-config.php"],
  ["/sub/index.php"],
  ["/sub/"],
  ["/legacy.PHP"],
  ["/legacy.%50HP"],
  ["/old.php."],
  ["/wp-config.php/"],
  ["/tool.phtml"],
  ["/tool.phar"],
  ["/config.txt"],
  ["/wp-config.php", { headers: { range: "bytes=0-40" } }],
  ["/wp-config.php", { method: "HEAD" }],
  ["/wp-config.php", { headers: { "if-none-match": "*" } }],
];

function neverSource(url: () => string): void {
  const cases = ATTACKS.map(([path, init]) => [init ? `${path} ${JSON.stringify(init)}` : path, path, init] as const);
  test.each(cases)("%s never answers the source", async (_, path, init) => {
    const res = await fetch(url() + path, init);
    const body = await res.text();
    expect(body).not.toContain(SOURCE);
    expect(body).not.toContain("<?php");
    expect(res.headers.get("content-range")).toBeNull();
    if (res.status === 200) expect(res.headers.get("content-type")).not.toBe("application/octet-stream");
  });
}

function runsPhp(url: () => string): void {
  test("/ runs the front controller", async () => {
    expect(await (await fetch(`${url()}/`)).text()).toBe("ran /index.php path_info=\n");
  });

  test("/index.php/x runs index.php with PATH_INFO", async () => {
    expect(await (await fetch(`${url()}/index.php/x`)).text()).toBe("ran /index.php path_info=/x\n");
  });

  test("a path no file answers runs the front controller", async () => {
    expect(await (await fetch(`${url()}/blog/hello`)).text()).toBe("ran /index.php path_info=\n");
  });

  test("an asset is served by the static route", async () => {
    const res = await fetch(`${url()}/style.css`);
    expect(res.headers.get("content-type")).toMatch(/^text\/css/);
    expect(await res.text()).toBe("body{}");
  });
}

describe.skipIf(!PHP_FPM)("the README's PHP examples never serve PHP source", () => {
  let fpm: PhpFpm;
  let dir: string;
  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!);
    dir = mkdtempSync(join(tmpdir(), "postern-static-scripts-"));
    // Scripts run as nobody when the tests run as root: their root must be open to them.
    chmodSync(dir, 0o755);
  });
  afterAll(async () => {
    await fpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("postern.toml: the Laravel / Symfony / WordPress layout", () => {
    let server: RunningServer;
    let close: () => Promise<void>;
    let url = "";
    beforeAll(async () => {
      const { publicDir } = writeApp(join(dir, "toml"));
      const toml = substitute(readmeBlock("toml", "Laravel"), {
        '"127.0.0.1:8080"': '"127.0.0.1:0"',
        "/var/www/app/public": publicDir,
        "unix:/run/php/php8.2-fpm.sock": `unix:${fpm.socket}`,
      });
      const config = parseConfig(`access_log = false\n${toml}`, "README.md", gatewaySchemas);
      const app = createApp(config, { ...nodeRuntime, logAccess: () => undefined }, dir);
      close = () => app.close();
      await app.ready;
      server = await serve(app.app, { listen: config.listen });
      const addr = server.addresses[0]!;
      url = addr.kind === "tcp" ? `http://127.0.0.1:${addr.port}` : "";
    });
    afterAll(async () => {
      await server?.close();
      await close?.();
    });

    neverSource(() => url);
    runsPhp(() => url);
  });

  describe("the library example", () => {
    let postern: RecordingPostern;
    let url = "";
    beforeAll(async () => {
      const { publicDir } = writeApp(join(dir, "library"));
      const cgiRoot = join(dir, "library/cgi");
      mkdirSync(join(cgiRoot, "cgi-bin"), { recursive: true });
      writeFileSync(join(cgiRoot, "cgi-bin/hello.pl"), 'print "Content-Type: text/plain\\n\\nhello from perl\\n";\n');
      const code = substitute(readmeBlock("js", 'from "postern"'), {
        '"127.0.0.1:8080"': '"127.0.0.1:0"',
        "/var/www/html/public": publicDir,
        "unix:/run/php/php8.2-fpm.sock": `unix:${fpm.socket}`,
        '"/srv/www"': JSON.stringify(cgiRoot),
      });
      postern = recordingPostern();
      await runModule(code, { hono: { Hono }, postern: postern.exports });
      await Promise.all(postern.handlers.map((h) => h.ready));
      const addr = postern.servers[0]!.addresses[0]!;
      url = addr.kind === "tcp" ? `http://127.0.0.1:${addr.port}` : "";
    });
    afterAll(async () => {
      await postern?.close();
    });

    neverSource(() => url);
    runsPhp(() => url);

    test("its hono route and its CGI route answer", async () => {
      expect(await (await fetch(`${url}/api/health`)).json()).toEqual({ ok: true });
      expect(await (await fetch(`${url}/cgi-bin/hello.pl`)).text()).toBe("hello from perl\n");
    });
  });
});

test("every postern.toml of the docs loads, and the README's one with a static route is the PHP layout served above", () => {
  const blocks = readmeBlocks("toml");
  // A block without routes shows top-level keys: it is loaded with one route after it.
  const route = '\n[[routes]]\ngateway = "cgi"\nroot = "/srv/cgi-bin"\n';
  for (const block of blocks) parseConfig(block.includes("[[routes]]") ? block : block + route, "README.md", gatewaySchemas);
  // docs/mounts.md's static-first recipes are served by test/mounts-*.test.ts; the other pages' by their own tests.
  const inReadme = [...docText("README.md").matchAll(/^```toml\n([\s\S]*?)^```/gm)].map((match) => match[1]!);
  const readme = inReadme.filter((block) => block.includes('gateway = "static"') && !block.includes("strip_prefix = true"));
  expect(readme.map((block) => block.includes("Laravel"))).toEqual([true]);
  expect(readmeBlocks("js").filter((block) => block.includes("staticFiles(")).map((block) => block.includes('from "postern"'))).toEqual([true]);
});

test("the demo's static files, which the Worker example's assets binding serves before postern runs (wrangler.toml), hold no script", () => {
  const wrangler = parse(readFileSync(join(REPO, "wrangler.toml"), "utf8")) as { assets: { directory: string } };
  const files = readdirSync(join(REPO, wrangler.assets.directory), { recursive: true, encoding: "utf8" });
  expect(files.length).toBeGreaterThan(0);
  expect(files.filter((name) => DENY_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext)))).toEqual([]);
});

/**
 * Runs a TypeScript module's code with its imports bound to `modules`
 * (module name -> its exports): only named imports, as the README's are.
 */
async function runModule(code: string, modules: Record<string, Record<string, unknown>>): Promise<void> {
  const names: string[] = [];
  const values: unknown[] = [];
  const body = code.replace(/^import \{([^}]*)\} from "([^"]+)";$/gm, (_, list: string, from: string) => {
    const exports = modules[from];
    if (!exports) throw new Error(`the example imports ${from}, which the test does not provide`);
    for (const name of list.split(",").map((n) => n.trim())) {
      if (!(name in exports)) throw new Error(`${from} has no export ${name}`);
      names.push(name);
      values.push(exports[name]);
    }
    return "";
  });
  if (/^\s*(import|export)\b/m.test(body)) throw new Error("the example has an import or export the test cannot bind");
  const js = transformSync(body, { loader: "ts", format: "esm" }).code;
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<void>;
  await new AsyncFunction(...names, js)(...values);
}
