// Finding a program the way a shell would, through the Runtime's filesystem:
// gateways resolve the programs they start once, at startup, so a missing one
// is a configuration error rather than a failure per request.

import { reachableByAll } from "../src/reachable.ts";
import type { ProcessUser, Runtime } from "../src/runtime.ts";

export { reachableByAll };

/**
 * The absolute path of `name` (searched in the directories of `path` unless
 * it contains "/"), or undefined. Relative paths are not taken: a program is
 * started from another directory than postern's (a CGI script's own). A
 * file nobody may execute is skipped, as execvp(3) skips it.
 *
 * With `user` (the program runs as another user than postern), a match that
 * every user may run is preferred, as execvp(3) run as that user would skip
 * one it may not (EACCES): root's PATH often starts with directories only
 * root can enter (a version manager's shims under /root). Without such a
 * match the first one is taken, and starting it says why it failed.
 */
export async function findProgram(runtime: Runtime, name: string, path: string | undefined, user?: ProcessUser): Promise<string | undefined> {
  const candidates = name.includes("/") ? [name] : (path ?? "").split(":").map((dir) => `${dir}/${name}`);
  let first: string | undefined;
  for (const candidate of candidates) {
    const stat = candidate.startsWith("/") ? await runtime.fs!.stat(candidate) : null;
    if (!stat?.isFile || (stat.mode & 0o111) === 0) continue;
    if (!user || user.uid === 0 || (await reachableByAll(runtime.fs!, candidate))) return candidate;
    first ??= candidate;
  }
  return first;
}
