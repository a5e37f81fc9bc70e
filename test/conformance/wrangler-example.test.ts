// The top-level wrangler.toml as a user runs it: `wrangler dev` serves the
// example Worker (examples/worker/index.ts) — the demo's static files from
// the assets binding, the bundled WASI probe, and PHP through a real php-fpm
// over TCP (its address in the FASTCGI_BACKEND var) — and the Worker bundle
// stays within 320 KB minified, WebAssembly modules aside (170 KB with
// balancing, health checks and trusted proxies; 201 KB once every option's
// documentation lived in the schemas and logs could go to files; 285 KB with
// the route modules (auth, compression, headers, hosts), the proxy gateway,
// rewrites, TLS settings, metrics and the status page, which the registry
// holds whether a Worker uses them or not; a Worker may be 3 MB compressed
// on the free plan: the bound is there to notice growth).

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "../helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "../helpers/php-fpm.ts";
import { WRANGLER_NODE, wrangler, wranglerDev } from "../helpers/wrangler.ts";
import { ROOT } from "./suite.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const noWrangler = WRANGLER_NODE ? "" : " (skipped: wrangler needs Node >= 22)";

describe.skipIf(noWrangler !== "")(`wrangler.toml: the example Worker under wrangler dev${noWrangler}`, () => {
  let fpm: PhpFpm | undefined;
  let stop: (() => Promise<void>) | undefined;
  let base = "";

  beforeAll(async () => {
    if (!PHP_FPM) throw new Error("php-fpm is not installed (apt-get install php-fpm)");
    fpm = await startPhpFpm(PHP_FPM);
    const dev = await wranglerDev(ROOT, ["--var", `FASTCGI_BACKEND:127.0.0.1:${fpm.port}`, "--var", `FASTCGI_ROOT:${join(ROOT, "examples/demo")}`]);
    stop = dev.stop;
    base = dev.url;
  }, 90_000);

  afterAll(async () => {
    await stop?.();
    await fpm?.stop();
  }, 30_000);

  test("the demo's landing page comes from the assets binding", async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<title>postern demo</title>");
  });

  test("/php/info.php runs in php-fpm, reached over TCP from inside workerd", async () => {
    const res = await fetch(`${base}/php/info.php/extra?name=Worker`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("<h1>Hello, Worker, from PHP 8.");
    expect(text).toContain("SCRIPT_NAME: <code>/php/info.php</code>");
    expect(text).toContain("PATH_INFO: <code>/extra</code>");
  });

  test("/wasi/env runs the bundled probe module", async () => {
    const text = await (await fetch(`${base}/wasi/env?from=worker`)).text();
    expect(text).toContain("env:SCRIPT_NAME=/wasi\n");
    expect(text).toContain("env:QUERY_STRING=from=worker\n");
  });
});

test.skipIf(noWrangler !== "")(`the Worker bundle is at most 320 KB minified, WebAssembly modules aside${noWrangler}`, () => {
  const out = mkdtempSync(join(tmpdir(), "postern-worker-bundle-"));
  try {
    wrangler(ROOT, ["deploy", "--dry-run", "--minify", "--outdir", out]);
    expect(statSync(join(out, "index.js")).size).toBeLessThanOrEqual(320 * 1024);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
