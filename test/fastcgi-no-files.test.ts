// A FastCGI route on a runtime without files (Cloudflare Workers): the script
// cannot be looked for, so the path's script is sent to the backend as named
// and the backend answers for a missing one (docs/runtimes.md, "Cloudflare Workers").
// Run here with the Node runtime minus its filesystem, against a real php-fpm.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createApp, gatewaySchemas } from "../gateways/index.ts";
import { parseConfig } from "../src/config.ts";
import type { Runtime } from "../src/runtime.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const ROOT = join(import.meta.dirname, "fixtures/php");

describe.skipIf(!PHP_FPM)("fastcgi route without a filesystem", () => {
  let fpm: PhpFpm;
  let app: ReturnType<typeof createApp>;
  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!, { children: 1 });
    const runtime: Runtime = { ...nodeRuntime, fs: undefined, logError: () => undefined, logAccess: () => undefined };
    const toml = `[[routes]]\ngateway = "fastcgi"\nbackend = "127.0.0.1:${fpm.port}"\nroot = "${ROOT}"\nfront_controller = "/index.php"\n`;
    app = createApp(parseConfig(toml, "postern.toml", gatewaySchemas), runtime, process.cwd());
    await app.ready;
  });
  afterAll(async () => {
    await app?.close();
    await fpm?.stop();
  });

  const get = async (path: string) => {
    const res = await app.app.fetch(new Request(`http://localhost${path}`));
    return { status: res.status, body: await res.text() };
  };

  test("a script that exists runs", async () => {
    expect(await get("/hello.php")).toEqual({ status: 200, body: "Hello, world!\n" });
  });

  test("a missing script gets php-fpm's own 404", async () => {
    expect(await get("/missing.php")).toEqual({ status: 404, body: "File not found.\n" });
  });

  test("front_controller is not reached: the directory's index is sent, and php-fpm answers 404", async () => {
    expect(await get("/pretty/url")).toEqual({ status: 404, body: "File not found.\n" });
  });
});

test("vhost_root and x_sendfile, which read files, are startup errors there rather than ignored", async () => {
  const runtime: Runtime = { ...nodeRuntime, fs: undefined, logError: () => undefined, logAccess: () => undefined };
  const toml = `[[routes]]\ngateway = "fastcgi"\nbackend = "127.0.0.1:9"\nroot = "/srv"\nvhost_root = "/srv/%_"\nx_sendfile = { allow = ["/srv/files"] }\n`;
  const app = createApp(parseConfig(toml, "postern.toml", gatewaySchemas), runtime, process.cwd());
  await expect(app.ready).rejects.toThrow(/vhost_root: needs a filesystem[\s\S]*x_sendfile: needs a filesystem/);
  await app.close();
});
