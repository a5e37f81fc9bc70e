// The package's exports map gives each runtime its own entry point: the same
// `import ... from "postern"` resolves to runtimes/node, runtimes/deno or
// runtimes/bun (workerd's condition is used by the conformance Worker's
// bundle, whose WASI routes would find no bundled module otherwise). Then the
// Duplex contract of each runtime's connections (duplex-check.ts).

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, test } from "vitest";
import { ROOT } from "./suite.ts";

const SCRIPT = join(import.meta.dirname, "which-runtime.ts");
const run = (command: string[]) => execFileSync(command[0]!, [...command.slice(1), SCRIPT], { encoding: "utf8", timeout: 60_000 }).trim();

const COMMANDS: Record<string, string[]> = {
  node: [process.execPath, "--import", join(ROOT, "runtimes/node/register.mjs")],
  deno: [join(ROOT, "node_modules/.bin/deno"), "run", "-A"],
  bun: [join(ROOT, "node_modules/.bin/bun")],
};

test.each(["node", "deno", "bun"])("on %s, postern is that runtime's entry point", (name) => {
  expect(run(COMMANDS[name]!)).toBe(`${name}Runtime`);
});

const CHECK = join(import.meta.dirname, "duplex-check.ts");

test.each(["node", "deno", "bun"])("on %s, a connection sees its peer close while nobody reads, and two writes made at once arrive one after the other", (name) => {
  const command = COMMANDS[name]!;
  const out = execFileSync(command[0]!, [...command.slice(1), CHECK], { encoding: "utf8", timeout: 60_000 }).trim();
  expect(JSON.parse(out)).toEqual({ closedSeen: true, inOrder: true });
});
