// The request path a gateway may map onto a filesystem root: decoded once and
// refused when it could name something outside the root (DESIGN.md, "Security
// defaults": `..`, NUL, encoded slashes).

import { decodePath, hasForbiddenPathBytes } from "./cgi/env.ts";

export type SafePath = { ok: true; path: string } | { ok: false; status: 400 | 404 };

// "%2F" and "%5C" would turn one URL segment into two path segments after
// decoding (Apache's AllowEncodedSlashes Off answers 404 for the same reason).
const ENCODED_SEPARATOR = /%(2f|5c)/i;

/** Decodes a URL pathname (already dot-normalized by URL parsing) for use under a root. */
export function safePath(pathname: string): SafePath {
  if (ENCODED_SEPARATOR.test(pathname)) return { ok: false, status: 404 };
  const path = decodePath(pathname);
  // CVE-2019-11043: CR/LF in PATH_INFO broke php-fpm; NUL truncates file names.
  if (path === null || hasForbiddenPathBytes(path)) return { ok: false, status: 400 };
  if (path.includes("\\") || hasDotSegment(path)) return { ok: false, status: 404 };
  return { ok: true, path };
}

function hasDotSegment(path: string): boolean {
  if (!path.includes("/.")) return false;
  for (const segment of path.split("/")) {
    if (segment === "." || segment === "..") return true;
  }
  return false;
}

/** True when `path` (a real path) lies strictly inside the directory `root` (a real path). */
export function isInside(root: string, path: string): boolean {
  return path.startsWith(root.endsWith("/") ? root : `${root}/`) && path.length > root.length;
}

/** Hidden names, and names Windows would alias to another by stripping a trailing dot or space: never a script's. */
export function isRefusedSegment(segment: string): boolean {
  return segment.startsWith(".") || segment.endsWith(".") || segment.endsWith(" ");
}
