// A file inside a static root swapped, over and over, for a symlink to a file
// outside it, while it is requested, on each runtime's CLI: checking the real
// path and then opening the name again would send the outside file whenever a
// swap falls between the two (CWE-367), so whoever can write in the root (an
// upload directory) could read any file postern can. The gateway opens first
// and then checks what it opened (gateways/static/index.ts).

import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { makeCgiTree } from "./helpers/cgi-fixtures.ts";
import { spawnPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const RUNTIMES: CliRuntime[] = ["node", "deno", "bun"];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test.each(RUNTIMES)("on %s, no answer for a file swapped with a symlink out of the root is the outside file", async (runtime) => {
  const tree = makeCgiTree([
    { path: "www/page.txt", text: "inside\n", mode: 0o644 },
    { path: "outside/secret.txt", text: "OUTSIDE SECRET\n", mode: 0o644 },
  ]);
  cleanups.push(() => tree.remove());
  const port = await freePort();
  const config = join(tree.root, "../postern.toml");
  writeFileSync(config, `listen = ["127.0.0.1:${port}"]\naccess_log = false\n[[routes]]\npath = "*"\ngateway = "static"\nroot = "${tree.root}"\n`);
  const { proc, log } = spawnPostern(runtime, ["serve", "--config", config]);
  cleanups.push(() => stopProcessGroup(proc, "SIGTERM"));
  await waitForPort(proc, port, `postern on ${runtime}`, log, 30_000);

  // rename(2) swaps each in atomically: page.txt is always there, a file or a link.
  const script = `cd '${tree.root}' && while :; do printf 'inside\\n' > .f && mv -f .f page.txt; ln -sf ../outside/secret.txt .l && mv -f .l page.txt; done`;
  const swapper: ChildProcess = spawn("sh", ["-c", script], { stdio: "ignore", detached: true });
  cleanups.push(() => stopProcessGroup(swapper, "SIGKILL"));

  const seen = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const text = await fetch(`http://127.0.0.1:${port}/page.txt`).then(
      async (res) => (res.status === 200 ? await res.text() : String(res.status)),
      () => "cut",
    );
    seen.set(text, (seen.get(text) ?? 0) + 1);
  }
  // Any of the outside file's bytes is the leak; 404 (the name moved under the open) and the inside file are both fine.
  expect([...seen.keys()].filter((text) => text.startsWith("OUTSIDE"))).toEqual([]);
  expect(seen.get("inside\n") ?? 0).toBeGreaterThan(0);
}, 120_000);
