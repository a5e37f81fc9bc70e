// The postern CLI as each runtime runs it from this checkout (deno and bun
// from npm): the command before its subcommand (`serve`, `cgi`, ...).

import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");

export type CliRuntime = "node" | "deno" | "bun";

export const POSTERN_CLI: Record<CliRuntime, string[]> = {
  node: [process.execPath, join(ROOT, "bin/postern.js")],
  // Without the flag, Deno also aborts request.signal after every complete response.
  deno: [join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--unstable-no-legacy-abort", join(ROOT, "bin/postern.ts")],
  bun: [join(ROOT, "node_modules/.bin/bun"), join(ROOT, "bin/postern.ts")],
};
