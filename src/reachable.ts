// Whether any user may reach a file: the execute bit for others on it and on
// every directory above its real path. Used where postern starts processes as
// another user than its own (src/accounts.ts) and must warn when what they
// need is out of their reach.

import type { FileSystem } from "./runtime.ts";

/**
 * The file (or directory) and every directory above its real path have the
 * execute bit for others: any user may run it (or enter it). Owner and group
 * bits are not looked at, so false may still mean that some user can.
 */
export async function reachableByAll(fs: FileSystem, file: string): Promise<boolean> {
  const real = await fs.realpath(file);
  if (real === null) return false;
  for (let at = real; at !== ""; at = at.slice(0, at.lastIndexOf("/"))) {
    const stat = await fs.stat(at);
    if (!stat || (stat.mode & 0o001) === 0) return false;
  }
  return true;
}
