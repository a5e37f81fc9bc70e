// The package's exports map gives each runtime its own entry point: the same
// `import ... from "postern"` resolves to runtimes/node, runtimes/deno or
// runtimes/bun (workerd's condition is used by the conformance Worker's
// bundle, whose WASI routes would find no bundled module otherwise). Then the
// Duplex contract of each runtime's connections (duplex-check.ts). Node is
// each release postern supports (helpers/node-versions.ts).

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, test } from "vitest";
import { nodeBinaries } from "../helpers/node-versions.ts";
import { ROOT } from "./suite.ts";

/** Runs one of this directory's scripts with `runtime`; its output. */
const run = (runtime: string, script: string) => {
  const [file, ...args] = COMMANDS[runtime]!;
  return execFileSync(file!, [...args, join(import.meta.dirname, script)], { encoding: "utf8", timeout: 60_000 }).trim();
};

const COMMANDS: Record<string, string[]> = {
  ...Object.fromEntries(nodeBinaries().map((node) => [`node ${node.major}`, [node.path, "--import", join(ROOT, "runtimes/node/register.mjs")]])),
  deno: [join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--conditions=postern-source"],
  bun: [join(ROOT, "node_modules/.bin/bun"), "--conditions=postern-source"],
};

const RUNTIMES = Object.keys(COMMANDS);

test.each(RUNTIMES)("on %s, postern is that runtime's entry point", (name) => {
  expect(run(name, "which-runtime.ts")).toBe(`${name.split(" ")[0]}Runtime`);
});

test.each(RUNTIMES)("on %s, a connection sees its peer close while nobody reads, and two writes made at once arrive one after the other", (name) => {
  expect(JSON.parse(run(name, "duplex-check.ts"))).toEqual({ closedSeen: true, inOrder: true });
});
