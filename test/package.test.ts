// The package as a user installs it (test/helpers/packed.ts: npm pack, then
// the tarball and hono installed into a fresh project), used with no flags:
// `node server.mjs` with a hono app of postern's fastcgi() in front of a real
// php-fpm, the same app.mjs under `bun` and `deno serve`, and the `postern`
// command through npx (the quick modes of the docs: a PHP site, a Flask app,
// a WASI module, a cgi-bin), the `exports` map as each runtime, bundler and
// TypeScript resolve it, and the declarations under moduleResolution
// "bundler". Node does not strip types inside node_modules and Deno
// refuses to (ERR_UNKNOWN_FILE_EXTENSION, ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING),
// so each of these runs only if the package ships JavaScript; and nothing of
// it is transpiled at start: no TypeScript in it, no esbuild process beside it.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ProcessUser } from "../src/runtime.ts";
import { processTree } from "../bench/cpu.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { npmEnv, packedProject, type PackedProject } from "./helpers/packed.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { freePort } from "./helpers/ports.ts";
import { nodeBinaries } from "./helpers/node-versions.ts";
import { giveToScriptUser, SCRIPT_USER } from "./helpers/script-user.ts";
import { PYTHON } from "./helpers/wsgi.ts";
import { requirePythonModule } from "./helpers/wsgi-apps.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const ROOT = join(import.meta.dirname, "..");
const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const run = promisify(execFile);
const FLASK = requirePythonModule("flask", "python3-flask");
/** The machine's Node and the releases test/node-versions installs: what `engines` promises. */
const NODES = nodeBinaries();

/**
 * The conditions each resolver of the package's `exports` sets, besides
 * "default": Node, Deno, Bun, wrangler's esbuild for workerd, Vite for a
 * browser, and TypeScript under moduleResolution nodenext and bundler.
 * "postern-source", the condition a checkout resolves its own TypeScript
 * sources with (tsconfig.json's customConditions), stays in the published
 * map: a resolver takes a condition only when told its name, and its targets
 * are not in the package, so one told it fails to find the module rather
 * than load anything but dist/.
 */
const RESOLVERS: Record<string, string[]> = {
  node: ["node", "import"],
  deno: ["deno", "node", "import"],
  bun: ["bun", "node", "import"],
  wrangler: ["workerd", "worker", "browser", "import", "module"],
  vite: ["browser", "import", "module", "development"],
  "tsc nodenext": ["types", "node", "import"],
  "tsc bundler": ["types", "import"],
};

/** The target an `exports` entry gives under `conditions`, as Node's PACKAGE_TARGET_RESOLVE picks it: the first key that matches and resolves. */
function exportTarget(entry: unknown, conditions: string[]): string | undefined {
  if (typeof entry === "string") return entry;
  for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
    if (key !== "default" && !conditions.includes(key)) continue;
    const target = exportTarget(value, conditions);
    if (target !== undefined) return target;
  }
  return undefined;
}

/** Every condition object of an `exports` entry, nested ones included. */
function conditionObjects(entry: unknown): Record<string, unknown>[] {
  if (typeof entry !== "object" || entry === null) return [];
  return [entry as Record<string, unknown>, ...Object.values(entry).flatMap(conditionObjects)];
}

/** A PHP page whose answer only php-fpm can give: its SAPI, and arithmetic on the query. */
const PAGE = '<?php echo php_sapi_name(), " says ", 6 * (int)$_GET["n"], "\\n";';

/** The app: a route telling which runtime's entry point `postern` resolved to, then PHP through php-fpm. */
const appModule = (socket: string, root: string) => `import { Hono } from "hono";
import * as postern from "postern";

const app = new Hono({ getPath: postern.getPath });
app.get("/which", (c) => c.text(Object.keys(postern).find((name) => name.endsWith("Runtime"))));
app.all("*", postern.fastcgi({ backend: ${JSON.stringify(`unix:${socket}`)}, root: ${JSON.stringify(root)}, index: ["index.php"] }));

// Bun serves a default export's fetch, on its hostname (deno serve takes --host).
export default { fetch: app.fetch, hostname: "127.0.0.1" };
`;

const serverModule = `import { serve } from "postern";
import app from "./app.mjs";

await serve(app, { listen: [\`127.0.0.1:\${process.env.PORT}\`] });
`;

describe.skipIf(!PHP_FPM)("the packed package installed in a fresh project", { timeout: 90_000 }, () => {
  let project: PackedProject | undefined;
  let fpm: PhpFpm | undefined;
  let dir = "";

  beforeAll(async () => {
    project = await packedProject();
    dir = project.dir;
    fpm = await startPhpFpm(PHP_FPM!);
    mkdirSync(join(dir, "www"));
    writeFileSync(join(dir, "www/index.php"), PAGE);
    writeFileSync(join(dir, "app.mjs"), appModule(fpm.socket, join(dir, "www")));
    writeFileSync(join(dir, "server.mjs"), serverModule);
  }, 300_000);

  afterAll(async () => {
    await fpm?.stop();
    await project?.cleanup();
  });

  test("npm install postern brings hono, its peer, and not esbuild, which only postern/register needs", () => {
    expect(existsSync(join(dir, "node_modules/hono/package.json"))).toBe(true);
    expect(existsSync(join(dir, "node_modules/esbuild"))).toBe(false);
  });

  test("it holds JavaScript, declarations and the files read at run time: no TypeScript source, no tests", () => {
    const installed = filesUnder(join(dir, "node_modules/postern"));
    expect(installed.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect(installed.filter((f) => !/\.(js|mjs|d\.ts|json|md|c|h|py)$/.test(f) && f !== "LICENSE")).toEqual([]);
    // The docs the README links to, and the JSON Schema editors are pointed at (#:schema), beside the code.
    expect(project!.files.filter((f) => !f.startsWith("dist/") && !f.startsWith("docs/")).sort()).toEqual(["LICENSE", "README.md", "bin/postern.js", "package.json", "postern.schema.json"]);
    expect(project!.files).toContain("docs/config.md");
    for (const entry of ["dist/runtimes/node/index.js", "dist/runtimes/node/index.d.ts", "dist/runtimes/workers/index.js", "dist/gateways/wasi/worker.js", "dist/gateways/cgi/spawner/spawner.c"]) {
      expect(installed).toContain(entry);
    }
  });

  test("engines names the oldest Node the package is tested on", () => {
    const { engines } = JSON.parse(readFileSync(join(dir, "node_modules/postern/package.json"), "utf8")) as { engines: { node: string } };
    expect(engines.node).toMatch(new RegExp(`^>=${Math.min(...NODES.map((node) => node.major))}\\.`));
  });

  test.each(NODES)("node $major: node server.mjs serves PHP through php-fpm, on Node's entry point, with no esbuild process", async ({ path }) => {
    const server = await start([path, "server.mjs"]);
    try {
      expect(await server.get("/which")).toBe("nodeRuntime");
      expect(await server.get("/?n=7")).toBe("fpm-fcgi says 42\n");
      expect(commandsUnder(server.proc.pid!)).not.toContain("esbuild");
    } finally {
      await server.stop();
    }
  });

  test.each([
    ["bun app.mjs", "Bun", "bunRuntime", () => [join(ROOT, "node_modules/.bin/bun"), "app.mjs"]],
    ["deno serve -A app.mjs", "Deno", "denoRuntime", (port: number) => [join(ROOT, "node_modules/.bin/deno"), "serve", "-A", "--host", "127.0.0.1", "--port", String(port), "app.mjs"]],
  ] as const)("%s serves the same app on %s's entry point", async (_command, _runtime, which, argv) => {
    const server = await start(argv);
    try {
      expect(await server.get("/which")).toBe(which);
      expect(await server.get("/?n=7")).toBe("fpm-fcgi says 42\n");
    } finally {
      await server.stop();
    }
  });

  test("npx postern --version prints the package's version", async () => {
    const { stdout } = await run("npx", ["postern", "--version"], { cwd: dir, env: npmEnv() });
    expect(stdout.trim()).toBe(`postern ${VERSION}`);
  });

  test("npx postern cgi DIR runs a CGI script of DIR, with no esbuild process", async () => {
    const cgiDir = cgiDirectory();
    const server = await start((port) => ["npx", "postern", "cgi", cgiDir, "--listen", `127.0.0.1:${port}`]);
    try {
      expect(await server.get("/hello.sh?world")).toBe("hello, world, from CGI/1.1\n");
      expect(commandsUnder(server.proc.pid!)).not.toContain("esbuild");
    } finally {
      await server.stop();
      rmSync(cgiDir, { recursive: true, force: true });
    }
  });

  test.skipIf(!SCRIPT_USER)("postern cgi run by a user who cannot write the installed package builds its native spawner all the same", async () => {
    // The package stays root's; the directories above it are opened to the user.
    for (const open of [dirname(dir), dir]) chmodSync(open, 0o755);
    const cgiDir = cgiDirectory();
    const server = await start((port) => [process.execPath, "node_modules/.bin/postern", "cgi", cgiDir, "--listen", `127.0.0.1:${port}`], SCRIPT_USER);
    try {
      expect(await server.get("/hello.sh?world")).toBe("hello, world, from CGI/1.1\n");
      // Built from the package's C sources into a directory of its own, not beside them.
      expect(commandsUnder(server.proc.pid!)).toContain("spawner");
    } finally {
      await server.stop();
      rmSync(cgiDir, { recursive: true, force: true });
    }
  });

  test("every export resolves to a file of the package for each runtime, bundler and TypeScript, and package.json is one", async () => {
    const pkg = JSON.parse(readFileSync(join(dir, "node_modules/postern/package.json"), "utf8")) as { exports: Record<string, unknown> };
    for (const [subpath, entry] of Object.entries(pkg.exports)) {
      for (const [resolver, conditions] of Object.entries(RESOLVERS)) {
        const target = exportTarget(entry, conditions);
        expect(target, `${resolver}: postern${subpath.slice(1)}`).toBeDefined();
        expect(existsSync(join(dir, "node_modules/postern", target!)), `${resolver}: postern${subpath.slice(1)} -> ${target}`).toBe(true);
      }
      // TypeScript takes the first condition it knows: "types" after "default" would never be read.
      for (const object of conditionObjects(entry)) {
        const keys = Object.keys(object).filter((key) => key !== "postern-source");
        if (keys.includes("types")) expect(keys[0], `postern${subpath.slice(1)}: ${keys.join(", ")}`).toBe("types");
      }
    }
    // Tools read an installed package's version through its exports.
    const { stdout } = await run(process.execPath, ["-e", 'console.log(require("postern/package.json").version)'], { cwd: dir });
    expect(stdout.trim()).toBe(VERSION);
  });

  test("the declarations type-check a user's app under moduleResolution bundler, and a mistyped option is an error", async () => {
    const tsDir = join(dir, "bundler-app");
    mkdirSync(tsDir);
    writeFileSync(
      join(tsDir, "app.ts"),
      `import { Hono } from "hono";
import type { FastCgiInput } from "postern";
import { fastcgi, serve } from "postern";

const options: FastCgiInput = { backend: "127.0.0.1:9000", root: "/srv/www", front_controller: "/index.php" };
const app = new Hono();
app.all("*", fastcgi(options));
// @ts-expect-error: no such key.
app.all("*", fastcgi({ backend: "127.0.0.1:9000", rot: "/srv/www" }));
await serve(app, { listen: ["127.0.0.1:8080"] });
`,
    );
    const compilerOptions = { module: "preserve", moduleResolution: "bundler", target: "es2022", strict: true, noEmit: true, types: [] };
    writeFileSync(join(tsDir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["app.ts"] }));
    const result = await run(join(ROOT, "node_modules/.bin/tsc"), ["-p", tsDir], { cwd: dir }).catch((err: { stdout: string }) => err);
    expect(result.stdout).toBe("");
  });

  test("npx postern fastcgi serves a PHP site: its files first, its scripts, the front controller for every other path", async () => {
    const site = join(dir, "site");
    mkdirSync(site);
    writeFileSync(join(site, "index.php"), '<?php echo "front controller for ", $_SERVER["REQUEST_URI"], "\\n";');
    writeFileSync(join(site, "info.php"), PAGE);
    writeFileSync(join(site, "style.css"), "body{}\n");
    const server = await start((port) => ["npx", "postern", "fastcgi", "--backend", `unix:${fpm!.socket}`, "--root", site, "--front-controller", "/index.php", "--listen", `127.0.0.1:${port}`]);
    try {
      expect(await server.get("/style.css")).toBe("body{}\n");
      expect(await server.get("/info.php?n=2")).toBe("fpm-fcgi says 12\n");
      expect(await server.get("/blog/a-post")).toBe("front controller for /blog/a-post\n");
    } finally {
      await server.stop();
    }
  });

  test.skipIf(!FLASK)("npx postern wsgi serves a Flask app, writing no bytecode into the installed package", async () => {
    const appDir = mkdtempSync(join(tmpdir(), "postern-packed-flask-"));
    writeFileSync(join(appDir, "hello.py"), 'from flask import Flask, request\n\napp = Flask(__name__)\n\n@app.get("/")\ndef hello():\n    return f"flask says {request.args[\'n\']}\\n"\n');
    // The workers run as the package's owner (as root, root is named; else they run as the tests' user), so they could write there.
    const asOwner = process.getuid?.() === 0 ? ["-u", "root"] : [];
    const server = await start((port) => ["npx", "postern", "wsgi", ...asOwner, "--python", PYTHON, "--chdir", appDir, "-b", `127.0.0.1:${port}`, "hello:app"]);
    try {
      expect(await server.get("/?n=5")).toBe("flask says 5\n");
      expect(filesUnder(join(dir, "node_modules/postern")).filter((f) => f.includes("__pycache__"))).toEqual([]);
      // The app's own bytecode is written as Python writes it by default.
      expect(existsSync(join(appDir, "__pycache__"))).toBe(true);
    } finally {
      await server.stop();
      rmSync(appDir, { recursive: true, force: true });
    }
  });

  test("npx postern wasi runs a WASI module in worker threads started from the package's JavaScript", async () => {
    const server = await start((port) => ["npx", "postern", "wasi", join(ROOT, "examples/wasi/hello.wasm"), "--listen", `127.0.0.1:${port}`]);
    try {
      expect(await server.get("/")).toBe("Hello, world!\n");
    } finally {
      await server.stop();
    }
  });

  /** Starts `command` (or the command made for a free port) in the project, in its own process group, PORT set, as `as` if given; resolves once it listens. */
  async function start(command: string[] | ((port: number) => string[]), as?: ProcessUser) {
    const port = await freePort();
    const [file, ...args] = typeof command === "function" ? command(port) : command;
    const user = as ? { uid: as.uid, gid: as.gid } : {};
    const proc: ChildProcess = spawn(file!, args, { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...npmEnv(), PORT: String(port) }, ...user });
    let log = "";
    proc.stdout!.on("data", (d) => (log += d));
    proc.stderr!.on("data", (d) => (log += d));
    await waitForPort(proc, port, file!, () => log, 60_000);
    return {
      proc,
      get: async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        const body = await res.text();
        expect(res.status, `${path}: ${body}\n${log}`).toBe(200);
        return body;
      },
      stop: () => stopProcessGroup(proc, "SIGTERM"),
    };
  }
});

/** A directory of its own with a CGI script, hello.sh: the project's is private to root, and scripts run as nobody when the tests run as root. */
function cgiDirectory(): string {
  const cgiDir = mkdtempSync(join(tmpdir(), "postern-packed-cgi-"));
  writeFileSync(join(cgiDir, "hello.sh"), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nhello, %s, from %s\\n" "$QUERY_STRING" "$GATEWAY_INTERFACE"\n');
  chmodSync(join(cgiDir, "hello.sh"), 0o755);
  giveToScriptUser(cgiDir);
  return cgiDir;
}

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

/** The command names (/proc/PID/comm) of a process and its descendants. */
function commandsUnder(pid: number): string[] {
  return processTree(pid).map((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, "utf8").trim();
    } catch {
      return "";
    }
  });
}
