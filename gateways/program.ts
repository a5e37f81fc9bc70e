// Finding a program the way a shell would, through the Runtime's filesystem:
// gateways resolve the programs they start once, at startup, so a missing one
// is a configuration error rather than a failure per request.

import type { Runtime } from "../src/runtime.ts";

/**
 * The absolute path of `name` (searched in the directories of `path` unless
 * it contains "/"), or undefined. Relative paths are not taken: a program is
 * started from another directory than postern's (a CGI script's own).
 */
export async function findProgram(runtime: Runtime, name: string, path: string | undefined): Promise<string | undefined> {
  const candidates = name.includes("/") ? [name] : (path ?? "").split(":").map((dir) => `${dir}/${name}`);
  for (const candidate of candidates) {
    if (candidate.startsWith("/") && (await runtime.fs!.stat(candidate))?.isFile) return candidate;
  }
  return undefined;
}
