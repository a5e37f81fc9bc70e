// Whether a route with a root (static, cgi, fastcgi) uses a file whose real
// path (symlinks resolved) lies outside its root: `follow_symlinks`.
//
// - "never" (the default): refused. Whoever may write in the root (an upload
//   directory, a CMS's plugin installer, a shared host's user) can otherwise
//   plant a link to /etc/shadow or another site's config and have the server
//   read it with its own rights (CWE-59, the attack nginx's
//   `disable_symlinks` and Apache's `SymLinksIfOwnerMatch` exist for).
// - "owner": followed when each link that leads out of the root has the same
//   owner as what it points to (nginx `disable_symlinks if_not_owner`,
//   Apache `SymLinksIfOwnerMatch`): the links a package or an admin made to
//   their own files (Debian's DokuWiki `lib/tpl`, WordPress themes), not a
//   link a user of the root made to a file they do not own.
// - "always": followed (lighttpd's `server.follow-symlink = "enable"`, its
//   default, and nginx's `disable_symlinks off`).
// Links that stay inside the root are always followed. Every refusal is
// logged with the link and where it points, so that a 403/404 caused by the
// policy is not a mystery.

import type { Field } from "../src/config-schema.ts";
import { isInside } from "../src/paths.ts";
import type { FileSystem, Runtime } from "../src/runtime.ts";

export type FollowSymlinks = "never" | "owner" | "always";

/** The `follow_symlinks` key of the routes with a root. */
export const followSymlinksField = {
  type: "string",
  oneOf: ["never", "owner", "always"],
  booleans: ["always", "never"],
  default: "never",
  doc: 'use a file whose real path leaves `root` through a symlink: `false` (the default) never, as the link could have been planted by whoever may write in the root; `"owner"` when each such link and its target have the same owner (nginx `disable_symlinks if_not_owner`); `true` always (lighttpd `server.follow-symlink`). Links inside the root are always followed; every refusal is logged with the link and its target',
} as const satisfies Field;

export class SymlinkPolicy {
  readonly #fs: FileSystem;
  readonly #setting: FollowSymlinks;
  readonly #realRoot: string;
  readonly #log: (line: string) => void;

  /** `log` writes a line of the route's error log (its name before it). */
  constructor(fs: FileSystem, setting: FollowSymlinks, realRoot: string, log: (line: string) => void) {
    this.#fs = fs;
    this.#setting = setting;
    this.#realRoot = realRoot.length > 1 ? realRoot.replace(/\/+$/, "") : realRoot;
    this.#log = log;
  }

  /** The policy of a route (`name`, as its log lines start) over `realRoot`, refusals written to the runtime's error log. */
  static forRoute(runtime: Runtime, setting: FollowSymlinks, realRoot: string, name: string): SymlinkPolicy {
    return new SymlinkPolicy(runtime.fs!, setting, realRoot, (line) => runtime.logError(`${name}: ${line}`));
  }

  /** True when `real` is the real root or inside it. */
  inside(real: string): boolean {
    return real === this.#realRoot || isInside(this.#realRoot, real);
  }

  /**
   * True when the file at `base + path` (`base`: the root as configured or its
   * real path; `path`: "/..." under it), whose real path is `real`, may be used.
   */
  async allows(base: string, path: string, real: string): Promise<boolean> {
    if (this.inside(real) || this.#setting === "always") return true;
    // The links on the way that lead out of the root, nearest the root first.
    let judged = false;
    for (let end = path.indexOf("/", 1); ; end = path.indexOf("/", end + 1)) {
      const link = base + (end < 0 ? path : path.slice(0, end));
      const target = await this.#fs.realpath(link);
      if (target !== null && !this.inside(target)) {
        judged = true;
        const why = await this.#refusal(link);
        if (why !== undefined) {
          this.#log(`${base + path}: refused: ${link} is a symlink to ${target}, outside the root ${this.#realRoot} (${why})`);
          return false;
        }
      }
      if (end < 0) break;
    }
    // No link leads out any more: the path changed since `real` was found (a swap, CWE-367); nothing was judged.
    if (!judged) this.#log(`${base + path}: refused: its real path ${real} is outside the root ${this.#realRoot}, and the link that led there changed while checked`);
    return judged;
  }

  /** Why `link`, a path whose real path leaves the root, may not be followed; undefined when it may. */
  async #refusal(link: string): Promise<string | undefined> {
    if (this.#setting === "never") return "follow_symlinks = false";
    const [own, target] = await Promise.all([this.#fs.lstat(link), this.#fs.stat(link)]);
    if (own === null || target === null) return "follow_symlinks = \"owner\": it changed while checked";
    // A component that is no link itself (same file either way) leaves through a link further up, already judged.
    if (own.dev === target.dev && own.ino === target.ino) return undefined;
    return own.uid === target.uid ? undefined : `follow_symlinks = "owner": the link is uid ${own.uid}'s, its target uid ${target.uid}'s`;
  }
}
