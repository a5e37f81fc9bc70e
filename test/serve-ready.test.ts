// serve() starts only once every route the app's gateways made is set up: a
// setup error (here a fastcgi root that does not exist) rejects it with the
// error, and no address is bound; a good app is served. A failed route the
// app routes to refuses every serve(); one it does not, left unclosed, only
// the next. On Node, Deno and Bun, each running test/serve-ready-app.ts; and
// on Node in this process, for a missing root, interpreter or module, for
// createApp's routes, for a sub-app's, and for a backend that is not up
// (no setup error).

import { execFile } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cgi, createApp, fastcgi, parseConfig, gatewaySchemas, serve, wasi, wsgi, type GatewayHandler } from "../runtimes/node/index.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { freePort } from "./helpers/ports.ts";

const ROOT = join(import.meta.dirname, "..");
const PHP_ROOT = join(import.meta.dirname, "fixtures/php");
const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php8.2-fpm");
const MISSING = "/does/not/exist";

const RUNTIMES: Record<string, string[]> = {
  node: [process.execPath, "--import", join(ROOT, "runtimes/node/register.mjs")],
  deno: [join(ROOT, "node_modules/.bin/deno"), "run", "-A"],
  bun: [join(ROOT, "node_modules/.bin/bun")],
};

/** Whether something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe.skipIf(!PHP_FPM)("serve() and the routes' setup", () => {
  let fpm: PhpFpm;
  let backend: string;
  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!);
    backend = `127.0.0.1:${fpm.port}`;
  });
  afterAll(async () => {
    await fpm?.stop();
  });

  test.each(Object.keys(RUNTIMES))("on %s, a route with a missing root: serve() rejects naming it, each time, and once more for an app without it; then a good app serves", async (runtime) => {
    const [file, ...args] = RUNTIMES[runtime]!;
    const listen = `127.0.0.1:${await freePort()}`;
    const { stdout } = await promisify(execFile)(file!, [...args, join(import.meta.dirname, "serve-ready-app.ts"), listen, backend, PHP_ROOT], {
      encoding: "utf8",
      timeout: 60_000,
    });
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as { rejected: (string | null)[]; status: number; body: string };
    expect(result.rejected).toEqual(Array(3).fill(`fastcgi: root: ${JSON.stringify(MISSING)} does not exist`));
    expect(result).toMatchObject({ status: 200, body: "Hello, world!\n" });
  });

  test("on node, in this process: the port stays free while serve() rejects, and a closed route no longer counts", async () => {
    const port = await freePort();
    const broken = fastcgi({ root: MISSING, backend });
    await expect(serve(new Hono().all("*", broken), { listen: [`127.0.0.1:${port}`] })).rejects.toThrow(`fastcgi: root: "${MISSING}" does not exist`);
    expect(await listening(port)).toBe(false);
    await broken.close();
    const good = fastcgi({ root: PHP_ROOT, backend });
    const server = await serve(new Hono().all("*", good), { listen: [`127.0.0.1:${port}`] });
    try {
      const response = await fetch(`http://127.0.0.1:${port}/hello.php`);
      expect(await response.text()).toBe("Hello, world!\n");
    } finally {
      await server.close();
      await good.close();
    }
  });

  /** serve() of `app` on a free port: its answer to GET /hello.php, and it stopped again. */
  const served = async (app: Hono): Promise<string> => {
    const port = await freePort();
    const server = await serve(app, { listen: [`127.0.0.1:${port}`] });
    try {
      return await (await fetch(`http://127.0.0.1:${port}/hello.php`)).text();
    } finally {
      await server.close();
    }
  };

  test("on node, in this process: a failed route left unclosed and out of the app holds up one serve(), naming it, not the later ones", async () => {
    const leftOver = fastcgi({ root: MISSING, backend });
    const good = fastcgi({ root: PHP_ROOT, backend });
    try {
      await expect(served(new Hono().all("*", good))).rejects.toThrow(`fastcgi: root: "${MISSING}" does not exist`);
      expect(await served(new Hono().all("*", good))).toBe("Hello, world!\n");
      expect(await served(new Hono().all("*", good))).toBe("Hello, world!\n");
    } finally {
      await Promise.all([leftOver.close(), good.close()]);
    }
  });

  test("on node, in this process: a failed route closed while serve() waits no longer counts", async () => {
    const broken = fastcgi({ root: MISSING, backend });
    const good = fastcgi({ root: PHP_ROOT, backend });
    const port = await freePort();
    const starting = serve(new Hono().all("*", good), { listen: [`127.0.0.1:${port}`] });
    const closing = broken.close();
    try {
      const server = await starting;
      await server.close();
    } finally {
      await Promise.all([closing, good.close()]);
    }
  });

  test("on node, in this process: an app that routes to a failed route is refused every time, a sub-app's route too", async () => {
    const broken = fastcgi({ root: MISSING, backend });
    // A sub-app with its own error handler: hono wraps its handlers when it mounts them.
    const sub = new Hono().onError(() => new Response("sub", { status: 500 })).all("*", broken);
    const app = new Hono().route("/", sub);
    try {
      for (let i = 0; i < 2; i++) await expect(served(app)).rejects.toThrow(`fastcgi: root: "${MISSING}" does not exist`);
    } finally {
      await broken.close();
    }
  });

  test("on node, in this process: a backend that is not up is no setup error: serve() starts, its requests get 502", async () => {
    const down = fastcgi({ root: PHP_ROOT, backend: `127.0.0.1:${await freePort()}` });
    const port = await freePort();
    const server = await serve(new Hono().all("*", down), { listen: [`127.0.0.1:${port}`] });
    try {
      expect((await fetch(`http://127.0.0.1:${port}/hello.php`)).status).toBe(502);
    } finally {
      await server.close();
      await down.close();
    }
  });

  const BROKEN: [string, () => GatewayHandler, string][] = [
    ["a cgi root that does not exist", () => cgi({ root: MISSING }), `cgi: root: "${MISSING}" does not exist`],
    ["a wsgi interpreter that is not installed", () => wsgi({ app: "myapp:app", python: "no-such-python3" }), 'wsgi: python: "no-such-python3" not found on PATH'],
    ["a wasi module that does not exist", () => wasi({ module: `${MISSING}.wasm` }), `wasi: module: "${MISSING}.wasm" does not exist`],
    ["a wasi module that is not WebAssembly", () => wasi({ module: join(ROOT, "package.json") }), `wasi: module: ${JSON.stringify(join(ROOT, "package.json"))}: `],
  ];

  test.each(BROKEN)("on node, in this process: %s: serve() rejects naming it, the port stays free", async (_, make, message) => {
    const port = await freePort();
    const broken = make();
    try {
      await expect(serve(new Hono().all("*", broken), { listen: [`127.0.0.1:${port}`] })).rejects.toThrow(message);
      expect(await listening(port)).toBe(false);
    } finally {
      await broken.close();
    }
  });

  test("on node, in this process: an app from createApp whose route cannot be set up, its ready never awaited, leaves no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", record);
    const config = parseConfig(`[[routes]]\ngateway = "fastcgi"\nbackend = "${backend}"\nroot = "${MISSING}"\n`, "postern.toml", gatewaySchemas);
    const app = createApp(config, "/");
    try {
      // What the route's setup does is done once close() returns; a rejection left unhandled is reported a turn later.
      await app.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", record);
    }
  });

  test("on node, in this process: an app from createApp whose route cannot be set up is not served", async () => {
    const port = await freePort();
    const config = parseConfig(`[[routes]]\ngateway = "fastcgi"\nbackend = "${backend}"\nroot = "${MISSING}"\n`, "postern.toml", gatewaySchemas);
    const app = createApp(config, "/");
    try {
      await expect(serve(app.app, { listen: [`127.0.0.1:${port}`] })).rejects.toThrow(`root: "${MISSING}" does not exist`);
      expect(await listening(port)).toBe(false);
    } finally {
      await app.close();
    }
  });
});
