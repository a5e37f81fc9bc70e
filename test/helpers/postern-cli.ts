// The postern CLI as each runtime runs it from this checkout (deno and bun
// from npm): the command before its subcommand (`serve`, `cgi`, ...), and
// that command started.

import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");

export type CliRuntime = "node" | "deno" | "bun";

export const POSTERN_CLI: Record<CliRuntime, string[]> = {
  node: [process.execPath, join(ROOT, "bin/postern.js")],
  // Without the flag, Deno also aborts request.signal after every complete response.
  deno: [join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--unstable-no-legacy-abort", join(ROOT, "bin/postern.ts")],
  bun: [join(ROOT, "node_modules/.bin/bun"), join(ROOT, "bin/postern.ts")],
};

/**
 * `postern ...args` on `runtime`, in a process group of its own (so that a
 * test can signal it and whatever it started at once), its stderr kept for a
 * failing test's message. The caller stops it (stopProcessGroup).
 */
export function spawnPostern(runtime: CliRuntime, args: string[], env: Record<string, string> = {}): { proc: ChildProcess; log: () => string } {
  const [file, ...before] = POSTERN_CLI[runtime];
  const proc = spawn(file!, [...before, ...args], { stdio: ["ignore", "ignore", "pipe"], detached: true, env: { ...process.env, ...env } });
  let log = "";
  proc.stderr!.on("data", (d) => (log += d));
  return { proc, log: () => log };
}
