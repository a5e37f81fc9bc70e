// A route whose gateway needs what the runtime lacks is refused when the app
// is built, naming the route and what is missing (DESIGN.md "The Runtime
// interface"). The runtime here is shaped like workerd's: TCP only, no
// processes, no files, no threads, no unix sockets. Then how config paths
// resolve, and bundled modules where there are files as well.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { createApp, gatewaySchemas, resolvePath } from "../gateways/index.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { parseConfig } from "../src/config.ts";
import type { Runtime } from "../src/runtime.ts";

const edgeLike: Runtime = {
  name: "workerd",
  connect: () => Promise.reject(new Error("no network in this test")),
  unixSockets: false,
  requestScopedIO: true,
  wasmModules: new Map(),
  getEnv: () => undefined,
  logAccess: () => undefined,
  logError: () => undefined,
};

/** Builds the app for one route and waits for its setup; the error it fails with. */
async function refusal(route: string): Promise<string> {
  const config = parseConfig(`[[routes]]\n${route}\n`, "postern.toml", gatewaySchemas);
  try {
    const app = createApp(config, edgeLike, "/");
    await app.ready;
    await app.close();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("the route was accepted");
}

describe("routes a runtime like workerd cannot serve", () => {
  test("cgi: no processes", async () => {
    const message = await refusal('path = "/cgi-bin/*"\ngateway = "cgi"\nroot = "/srv/cgi-bin"');
    expect(message).toContain("routes[0] (cgi /cgi-bin/*)");
    expect(message).toMatch(/workerd runtime cannot run CGI scripts \(no processes\)/);
  });

  test("fastcgi to a unix socket: no unix sockets", async () => {
    const message = await refusal('path = "*"\ngateway = "fastcgi"\nbackend = "unix:/run/php/php-fpm.sock"\nroot = "/var/www"');
    expect(message).toContain("routes[0] (fastcgi *)");
    expect(message).toMatch(/backend: the workerd runtime cannot connect to unix sockets \(unix:\/run\/php\/php-fpm\.sock\); use a TCP address/);
  });

  test("fastcgi with spawn: no processes", async () => {
    const message = await refusal('path = "*"\ngateway = "fastcgi"\nroot = "/var/www"\nspawn = { command = ["php-cgi"] }');
    expect(message).toContain("routes[0] (fastcgi *)");
    expect(message).toMatch(/spawn needs a runtime that can start processes; workerd cannot/);
  });

  test("static: no files", async () => {
    const message = await refusal('path = "*"\ngateway = "static"\nroot = "/srv/www"');
    expect(message).toContain("routes[0] (static *)");
    expect(message).toMatch(/static files need a filesystem, which the workerd runtime has not/);
  });

  test("wasi with a module file: only bundled modules", async () => {
    const message = await refusal('path = "/app/*"\ngateway = "wasi"\nmodule = "app.wasm"');
    expect(message).toContain("routes[0] (wasi /app/*)");
    expect(message).toMatch(/"app.wasm" is not among the modules bundled for workerd, which reads no files/);
  });

  test("fastcgi over TCP is accepted", async () => {
    const config = parseConfig('[[routes]]\npath = "*"\ngateway = "fastcgi"\nbackend = "127.0.0.1:9000"\nroot = "/var/www"\n', "postern.toml", gatewaySchemas);
    const app = createApp(config, edgeLike, "/");
    await expect(app.ready).resolves.toBeUndefined();
    await app.close();
  });
});

describe("paths in a config (createApp)", () => {
  test.each([
    ["/srv/app", "x", "/srv/app/x"],
    ["/srv/app/", "../x", "/srv/x"],
    ["/srv/./app", "./a/../b", "/srv/app/b"],
    ["/srv/app", "/abs", "/abs"],
    ["/", "../x", "/x"],
  ])("%s + %s = %s", (base, path, expected) => {
    expect(resolvePath(base, path)).toBe(expected);
  });

  test("a wasi module registered by the app is named, not looked up on disk, where there are files too", async () => {
    const module = new WebAssembly.Module(readFileSync(join(import.meta.dirname, "../examples/wasi/hello.wasm")));
    const runtime: Runtime = { ...nodeRuntime, wasmModules: new Map([["hello.wasm", module]]), logError: () => undefined, logAccess: () => undefined };
    const config = parseConfig('[[routes]]\npath = "*"\ngateway = "wasi"\nmodule = "hello.wasm"\nthreads = 1\n', "postern.toml", gatewaySchemas);
    const app = createApp(config, runtime, "/nonexistent/dir");
    try {
      await app.ready;
      expect(await (await app.app.request("http://localhost/")).text()).toBe("Hello, world!\n");
    } finally {
      await app.close();
    }
  });

  test("only a wasi module key may name a registered module: another gateway's root of the same name is a path", async () => {
    const module = new WebAssembly.Module(readFileSync(join(import.meta.dirname, "../examples/wasi/hello.wasm")));
    const runtime: Runtime = { ...nodeRuntime, wasmModules: new Map([["public", module]]), logError: () => undefined, logAccess: () => undefined };
    const config = parseConfig('[[routes]]\npath = "*"\ngateway = "static"\nroot = "public"\n', "postern.toml", gatewaySchemas);
    const app = createApp(config, runtime, join(import.meta.dirname, "../examples/demo"));
    try {
      await app.ready;
      const res = await app.app.request("http://localhost/index.html");
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("<title>postern demo</title>");
    } finally {
      await app.close();
    }
  });
});
