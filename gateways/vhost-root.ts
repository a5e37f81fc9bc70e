// `vhost_root`: a per-host document root for static, cgi and fastcgi routes,
// made from the request's Host by lighttpd's mod_evhost patterns:
//   %_  the whole host name            (www.example.org)
//   %0  the domain and its TLD         (example.org)
//   %1  the TLD                        (org)
//   %2  the domain without its TLD     (example)
//   %3  the label left of the domain   (www), %4 the one left of it, ... %9
//   %%  a "%"
// A host that is not a plain DNS name (letters, digits, "-"; an IP literal,
// "..", a "/" or "\" that would climb out of the pattern's directory), a
// pattern that needs a label the host lacks, or a directory that does not
// exist, gives the route's `root`, as lighttpd falls back to its
// document-root.

import type { Field } from "../src/config-schema.ts";
import { hostName } from "../src/http/host-pattern.ts";
import type { FileSystem } from "../src/runtime.ts";

/** The `vhost_root` key. */
export const vhostRootField = {
  type: "string",
  doc: 'per-host document root, lighttpd `evhost.path-pattern` style: `"/srv/%_/htdocs"` (`%_` the whole host, `%0` its domain and TLD, `%1` the TLD, `%2` the domain, `%3` the label left of it, ... `%9`, `%%` a "%"); a Host that is no plain DNS name, lacks a label the pattern needs, or names no existing directory gets `root`',
} as const satisfies Field;

const SPECIFIER = /%(.)/g;
/**
 * RFC 1123 §2.1 labels of at most 63 characters (RFC 1035 §2.3.4): what a
 * Host may put into a path, no more. The TLD must not be all digits, as no
 * TLD is (RFC 3696 §2): that leaves out IPv4 literals.
 */
const DNS_NAME = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*(?![0-9]+$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** RFC 1035 §2.3.4's longest name: a Host cannot make paths of any length, each kept in the cache below. */
const MAX_NAME = 253;
/** Directories looked up per host, kept this long (as the lookups of src/file-cache.ts). */
const TTL_MS = 1_000;
const MAX_ENTRIES = 4096;

/** What is wrong with a `vhost_root` pattern; undefined when nothing is. */
export function vhostRootProblem(pattern: string): string | undefined {
  if (!pattern.startsWith("/")) return "must be an absolute path";
  for (const [, specifier] of pattern.matchAll(SPECIFIER)) {
    if (!/^[_%0-9]$/.test(specifier!)) return `%${specifier}: the patterns are %_, %0 to %9 and %%`;
  }
  if (!/%[_0-9]/.test(pattern)) return "has no %_ or %0 to %9: it would be the same directory for every host";
  return undefined;
}

/** The directory `pattern` names for `host` (as hostName gives it); undefined when the host cannot make one. */
export function vhostPath(pattern: string, host: string): string | undefined {
  if (host.length > MAX_NAME || !DNS_NAME.test(host)) return undefined;
  const labels = host.split(".").reverse(); // [tld, domain, sub1, ...]
  let missing = false;
  const label = (n: number): string => {
    const value = n === 0 ? (labels.length >= 2 ? `${labels[1]}.${labels[0]}` : undefined) : labels[n - 1];
    if (value === undefined) missing = true;
    return value ?? "";
  };
  const path = pattern.replace(SPECIFIER, (_, s: string) => (s === "%" ? "%" : s === "_" ? host : label(Number(s))));
  return missing ? undefined : path;
}

export class VhostRoots {
  readonly #fs: FileSystem;
  readonly #pattern: string;
  readonly #found = new Map<string, { root: Promise<VhostRoot | undefined>; expires: number }>();

  constructor(fs: FileSystem, pattern: string) {
    this.#fs = fs;
    this.#pattern = pattern;
  }

  /** The root for `request`'s Host, or undefined for the route's own. */
  rootFor(request: Request): Promise<VhostRoot | undefined> {
    const authority = request.headers.get("host") ?? new URL(request.url).host;
    const path = vhostPath(this.#pattern, hostName(authority));
    if (path === undefined) return Promise.resolve(undefined);
    const now = Date.now();
    const hit = this.#found.get(path);
    if (hit && hit.expires > now) return hit.root;
    if (this.#found.size >= MAX_ENTRIES) this.#found.clear();
    const root = this.#lookup(path);
    this.#found.set(path, { root, expires: now + TTL_MS });
    return root;
  }

  async #lookup(path: string): Promise<VhostRoot | undefined> {
    const realRoot = await this.#fs.realpath(path);
    const stat = realRoot === null ? null : await this.#fs.stat(realRoot);
    if (realRoot === null || !stat?.isDirectory) return undefined;
    return { root: path.length > 1 ? path.replace(/\/+$/, "") : path, realRoot };
  }
}

export interface VhostRoot {
  /** The directory as the pattern made it: SCRIPT_FILENAME and DOCUMENT_ROOT start with it. */
  root: string;
  realRoot: string;
}
