// The package as a Workers user installs it (test/helpers/packed.ts: npm
// pack, then the tarball and hono installed into a fresh project): a Worker
// that imports { fastcgi, uwsgi } from "postern" and exports its hono app,
// bundled by wrangler from that project (the current wrangler, run by a Node
// it supports: helpers/wrangler.ts), `postern` resolved through the package's
// "workerd" export to its built JavaScript, and `wrangler dev` answering
// requests through to a real php-fpm and a real uWSGI over
// cloudflare:sockets, which reach 127.0.0.1 under wrangler dev without an
// account.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { findUwsgi, startUwsgi } from "./fixtures/uwsgi/server.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { packedProject, type PackedProject } from "./helpers/packed.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import type { ServerProcess } from "./helpers/server-process.ts";
import { COMPATIBILITY_DATE, WRANGLER_NODE, wrangler, wranglerDev, type WranglerDev } from "./helpers/wrangler.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");
const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const UWSGI = findUwsgi();

/** The Worker a user writes: postern's gateways in a hono app, the app its default export. */
const workerModule = (phpPort: number, uwsgiPort: number) => `import { Hono } from "hono";
import { fastcgi, getPath, uwsgi } from "postern";

const app = new Hono({ getPath });
app.all("/php/*", fastcgi({ backend: "127.0.0.1:${phpPort}", root: ${JSON.stringify(FIXTURES)} }));
app.all("/py/*", uwsgi({ backend: "127.0.0.1:${uwsgiPort}" }));

export default app;
`;

describe.skipIf(!PHP_FPM || !UWSGI || !WRANGLER_NODE)("the packed package in a Worker under wrangler dev", { timeout: 60_000 }, () => {
  let project: PackedProject | undefined;
  let fpm: PhpFpm | undefined;
  let python: ServerProcess | undefined;
  let dev: WranglerDev | undefined;

  beforeAll(async () => {
    [project, fpm, python] = await Promise.all([packedProject(), startPhpFpm(PHP_FPM!), startUwsgi(UWSGI!, { protocol: "uwsgi" })]);
    writeFileSync(join(project.dir, "worker.mjs"), workerModule(fpm.port, python.port));
    writeFileSync(join(project.dir, "wrangler.toml"), `name = "postern-user"\nmain = "worker.mjs"\ncompatibility_date = "${COMPATIBILITY_DATE}"\n`);
    dev = await wranglerDev(project.dir);
  }, 300_000);

  afterAll(async () => {
    await dev?.stop();
    await Promise.all([fpm?.stop(), python?.stop()]);
    await project?.cleanup();
  });

  test("wrangler bundles postern's built JavaScript from the installed package", () => {
    wrangler(project!.dir, ["deploy", "--dry-run", "--outdir", "bundle", "--metafile", "bundle/meta.json"]);
    const inputs = Object.keys((JSON.parse(readFileSync(join(project!.dir, "bundle/meta.json"), "utf8")) as { inputs: Record<string, unknown> }).inputs);
    expect(inputs).toContain("node_modules/postern/dist/runtimes/workers/index.js");
    expect(inputs.filter((input) => input.startsWith("node_modules/postern/") && !input.endsWith(".js"))).toEqual([]);
  });

  test("a PHP page runs in php-fpm, reached over TCP from inside workerd", async () => {
    const res = await fetch(`${dev!.url}/php/env.php/extra?x=1`, { signal: AbortSignal.timeout(30_000) });
    expect(res.status).toBe(200);
    const server = ((await res.json()) as { server: Record<string, string> }).server;
    expect(server).toMatchObject({ SCRIPT_NAME: "/php/env.php", PATH_INFO: "/extra", QUERY_STRING: "x=1", SCRIPT_FILENAME: join(FIXTURES, "php/env.php") });
  });

  test("a WSGI app answers through uWSGI's uwsgi protocol, reached over TCP from inside workerd", async () => {
    const res = await fetch(`${dev!.url}/py/env/x?q=1`, { method: "POST", body: "hello", signal: AbortSignal.timeout(30_000) });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as { environ: Record<string, string>; body_length: number };
    expect(seen.environ).toMatchObject({ SCRIPT_NAME: "/py", PATH_INFO: "/env/x", QUERY_STRING: "q=1" });
    expect(seen.body_length).toBe(5);
  });
});
