// The TypeScript hooks (runtimes/node/register.mjs) on every tested Node:
// a checkout's postern starts with nothing on stderr, no deprecation warning
// either (module.register() is DEP0205 from Node 26), and its Node worker
// threads load the TypeScript worker modules through the same hooks.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { nodeBinaries } from "./helpers/node-versions.ts";

const ROOT = join(import.meta.dirname, "..");
const WASM = join(ROOT, "examples/wasi/hello.wasm");
// Inside the checkout, so that the app finds "postern" and "hono" as an app of it would.
mkdirSync(join(ROOT, ".scratch"), { recursive: true });
const dir = mkdtempSync(join(ROOT, ".scratch/node-hooks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** Each tested Node as [major, path]. */
const NODES = nodeBinaries().map((node) => [node.major, node.path] as const);

test.each(NODES)("on Node %i, postern from the sources warns of nothing", (_, node) => {
  const run = spawnSync(node, [join(ROOT, "bin/postern.js"), "--version"], { encoding: "utf8", timeout: 60_000 });
  expect(run.stderr).toBe("");
  expect(run.stdout).toMatch(/^postern \d+\.\d+\.\d+\n$/);
});

test.each(NODES)("on Node %i, a worker thread loads a TypeScript module through the hooks", (_, node) => {
  // A wasi route runs its module in worker threads (gateways/wasi/worker.ts).
  const app = join(dir, `app-${node.replaceAll("/", "_")}.mjs`);
  writeFileSync(
    app,
    `import { Hono } from "hono";
    import { serve, wasi } from "postern";
    const app = new Hono().all("*", wasi({ module: ${JSON.stringify(WASM)}, threads: 1 }));
    const server = await serve(app, { listen: ["127.0.0.1:0"] });
    const res = await fetch(\`http://127.0.0.1:\${server.addresses[0].port}/\`);
    console.log(res.status, (await res.text()).length > 0);
    process.exit(0);
    `,
  );
  const run = spawnSync(node, ["--import", join(ROOT, "runtimes/node/register.mjs"), app], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  expect(run.stderr).toBe("");
  expect(run.stdout.trim()).toBe("200 true");
});
