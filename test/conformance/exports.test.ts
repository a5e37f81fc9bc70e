// The package's exports map gives each runtime its own entry point: the same
// `import ... from "postern"` resolves to runtimes/node, runtimes/deno or
// runtimes/bun (workerd's condition is used by the conformance Worker's
// bundle, whose WASI routes would find no bundled module otherwise).

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, test } from "vitest";
import { ROOT } from "./suite.ts";

const SCRIPT = join(import.meta.dirname, "which-runtime.ts");
const run = (command: string[]) => execFileSync(command[0]!, [...command.slice(1), SCRIPT], { encoding: "utf8", timeout: 60_000 }).trim();

test.each([
  ["node", [process.execPath, "--import", join(ROOT, "runtimes/node/register.mjs")], "nodeRuntime"],
  ["deno", [join(ROOT, "node_modules/.bin/deno"), "run", "-A"], "denoRuntime"],
  ["bun", [join(ROOT, "node_modules/.bin/bun")], "bunRuntime"],
])("on %s, postern is the %s entry point", (_name, command, expected) => {
  expect(run(command as string[])).toBe(expected);
});
