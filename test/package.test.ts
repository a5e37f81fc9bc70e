// The package as a user installs it (test/helpers/packed.ts: npm pack, then
// the tarball and hono installed into a fresh project), used with no flags:
// `node server.mjs` (on every Node the tests have: node-versions.ts) with a
// hono app of postern's fastcgi() in front of a real php-fpm, the same
// app.mjs under `bun` and `deno serve`, and the `postern`
// command through npx. Node does not strip types inside node_modules and Deno
// refuses to (ERR_UNKNOWN_FILE_EXTENSION, ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING),
// so each of these runs only if the package ships JavaScript; and nothing of
// it is transpiled at start: no TypeScript in it, no esbuild process beside it.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { processTree } from "../bench/cpu.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { nodeBinaries } from "./helpers/node-versions.ts";
import { npmEnv, packedProject, type PackedProject } from "./helpers/packed.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { freePort } from "./helpers/ports.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const ROOT = join(import.meta.dirname, "..");
const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const run = promisify(execFile);

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

  test("it holds JavaScript, declarations and the files read at run time: no TypeScript source, no tests", () => {
    const installed = filesUnder(join(dir, "node_modules/postern"));
    expect(installed.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect(installed.filter((f) => !/\.(js|mjs|d\.ts|json|md|c|h|py)$/.test(f))).toEqual([]);
    expect(project!.files.filter((f) => !f.startsWith("dist/")).sort()).toEqual(["README.md", "bin/postern.js", "package.json"]);
    for (const entry of ["dist/runtimes/node/index.js", "dist/runtimes/node/index.d.ts", "dist/runtimes/workers/index.js", "dist/gateways/wasi/worker.js", "dist/gateways/cgi/spawner/spawner.c"]) {
      expect(installed).toContain(entry);
    }
  });

  test.each(nodeBinaries().map((node) => [node.major, node.path] as const))("node server.mjs on Node %i serves PHP through php-fpm, on Node's entry point, with no esbuild process", async (_major, node) => {
    const server = await start([node, "server.mjs"]);
    try {
      expect(await server.get("/which")).toBe("nodeRuntime");
      expect(await server.get("/?n=7")).toBe("fpm-fcgi says 42\n");
      expect(commandsUnder(server.proc.pid!)).not.toContain("esbuild");
    } finally {
      await server.stop();
    }
  });

  test("bun app.mjs serves the same app on Bun's entry point", async () => {
    const server = await start([join(ROOT, "node_modules/.bin/bun"), "app.mjs"]);
    try {
      expect(await server.get("/which")).toBe("bunRuntime");
      expect(await server.get("/?n=7")).toBe("fpm-fcgi says 42\n");
    } finally {
      await server.stop();
    }
  });

  test("deno serve -A app.mjs serves the same app on Deno's entry point", async () => {
    const server = await start((port) => [join(ROOT, "node_modules/.bin/deno"), "serve", "-A", "--host", "127.0.0.1", "--port", String(port), "app.mjs"]);
    try {
      expect(await server.get("/which")).toBe("denoRuntime");
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
    // Its own directory: the project's is private to root, and scripts run as nobody when the tests run as root.
    const cgiDir = mkdtempSync(join(tmpdir(), "postern-packed-cgi-"));
    writeFileSync(join(cgiDir, "hello.sh"), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nhello, %s, from %s\\n" "$QUERY_STRING" "$GATEWAY_INTERFACE"\n');
    chmodSync(join(cgiDir, "hello.sh"), 0o755);
    giveToScriptUser(cgiDir);
    const server = await start((port) => ["npx", "postern", "cgi", cgiDir, "--listen", `127.0.0.1:${port}`]);
    try {
      expect(await server.get("/hello.sh?world")).toBe("hello, world, from CGI/1.1\n");
      expect(commandsUnder(server.proc.pid!)).not.toContain("esbuild");
    } finally {
      await server.stop();
      rmSync(cgiDir, { recursive: true, force: true });
    }
  });

  /** Starts `command` (or the command made for a free port) in the project, in its own process group, PORT set; resolves once it listens. */
  async function start(command: string[] | ((port: number) => string[])) {
    const port = await freePort();
    const [file, ...args] = typeof command === "function" ? command(port) : command;
    const proc: ChildProcess = spawn(file!, args, { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...npmEnv(), PORT: String(port) } });
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
