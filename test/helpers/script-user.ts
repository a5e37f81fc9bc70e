// The user postern's scripts and spawned backends run as in these tests:
// when the tests run as root (as in CI), postern starts them as `nobody`
// (src/accounts.ts), so the files they read and the directories they write
// to are handed to that user; and what the whoami fixtures say about who a
// script ran as.

import { chownSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAccounts, resolveUser } from "../../src/accounts.ts";
import type { ProcessUser } from "../../src/runtime.ts";

const read = (path: string) => readFileSync(path, "utf8");

/** Who postern's default config starts processes as here; undefined when the tests do not run as root. */
export const SCRIPT_USER: ProcessUser | undefined = resolveUser(parseAccounts(read("/etc/passwd"), read("/etc/group")), {}, process.getuid!());

/** Gives `path` and everything under it to SCRIPT_USER (nothing to do when not root). */
export function giveToScriptUser(path: string): void {
  if (!SCRIPT_USER) return;
  chownSync(path, SCRIPT_USER.uid, SCRIPT_USER.gid);
  if (!lstatSync(path).isDirectory()) return;
  for (const name of readdirSync(path)) {
    const child = join(path, name);
    if (lstatSync(child).isSymbolicLink()) continue;
    giveToScriptUser(child);
  }
}

/** What test/fixtures/cgi/whoami.sh and test/fixtures/php/whoami.php print. */
export interface Whoami {
  uid: number;
  gid: number;
  /** As `id -G`: the group, then the supplementary ones. */
  groups: number[];
  /** Ancestors whose /proc/<pid>/environ the script could read. */
  readable: number[];
}

export function parseWhoami(text: string): Whoami {
  if (!text.endsWith("\nend\n")) throw new Error(`whoami did not run to its end: ${text.slice(0, 300)}`);
  const values = (name: string) => [...text.matchAll(new RegExp(`^${name}=(.*)$`, "gm"))].map((m) => m[1]!);
  return {
    uid: Number(values("uid")[0]),
    gid: Number(values("gid")[0]),
    groups: values("groups")[0]!.split(/\s+/).filter(Boolean).map(Number),
    readable: values("readable").map(Number),
  };
}
