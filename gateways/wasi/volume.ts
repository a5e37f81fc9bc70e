// Read-only directories for WASI modules (WAGI's `volumes`): a host
// directory is read once, when the route starts, into an in-memory tree that
// every thread gets a copy of. A module can read only what is in the tree:
// nothing outside the directory was read, so nothing outside is reachable,
// whatever path it asks for; and threads need no file access of their own.

import type { FileSystem } from "../../src/runtime.ts";
import { readAllLimited } from "../../src/io/bytes.ts";
import { isInside } from "../../src/paths.ts";

export type VolumeNode =
  | { kind: "dir"; entries: Record<string, VolumeNode> }
  | { kind: "file"; bytes: Uint8Array; mtimeMs: number };

/** What an entry counts against max_volume_size besides its bytes. */
const ENTRY_COST = 256;

export interface Volume {
  /** Where the module sees it: "/data". */
  guestPath: string;
  root: Extract<VolumeNode, { kind: "dir" }>;
}

/**
 * Reads `hostDir` into a tree, `budget.left` bytes at most in all (shared by
 * a route's volumes). Symlinks are followed only when they stay inside the
 * directory; anything else that is not a file or a directory is left out.
 */
export async function readVolume(fs: FileSystem, guestPath: string, hostDir: string, budget: { left: number }): Promise<Volume> {
  const realRoot = await fs.realpath(hostDir);
  const stat = realRoot === null ? null : await fs.stat(realRoot);
  if (realRoot === null || !stat?.isDirectory) throw new Error(`${JSON.stringify(hostDir)} ${realRoot === null ? "does not exist" : "is not a directory"}`);
  // Directories already read: a symlink back up the tree would loop forever.
  const seen = new Set<string>([realRoot]);
  const readDir = async (dir: string): Promise<Extract<VolumeNode, { kind: "dir" }>> => {
    // No prototype: a file named "__proto__" is an entry like any other.
    const entries: Record<string, VolumeNode> = Object.create(null);
    for (const name of (await fs.list(dir)) ?? []) {
      const real = await fs.realpath(`${dir}/${name}`);
      if (real === null || !isInside(realRoot, real)) continue;
      const info = await fs.stat(real);
      // Every entry counts against the budget, so a tree of empty files is bounded too.
      budget.left -= ENTRY_COST;
      if (info?.isDirectory) {
        if (seen.has(real)) continue;
        seen.add(real);
        entries[name] = await readDir(real);
      } else if (info?.isFile) {
        budget.left -= info.size;
        if (budget.left < 0) throw new Error(`over the route's volume size limit (max_volume_size)`);
        const bytes = await readAllLimited(fs.readStream(real), info.size, () => new Error(`${name} grew while read`));
        entries[name] = { kind: "file", bytes, mtimeMs: info.mtimeMs };
      }
    }
    return { kind: "dir", entries };
  };
  return { guestPath, root: await readDir(realRoot) };
}
