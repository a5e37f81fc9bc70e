// The request path: normalised once, before routing, and then decoded once
// for a gateway to map onto a filesystem root, refused when it could name
// something outside the root (DESIGN.md, "Security defaults": merged slashes,
// no dot segments, one decoding; `..`, NUL, encoded slashes).

import { decodePath, hasForbiddenPathBytes } from "./cgi/env.ts";

export type SafePath = { ok: true; path: string } | { ok: false; status: 400 | 404 };

// "%2F" and "%5C" would turn one URL segment into two path segments after
// decoding (Apache's AllowEncodedSlashes Off answers 404 for the same reason).
const ENCODED_SEPARATOR = /%(2f|5c)/i;

// What may make a path differ from its normal form: an escape, an empty or a dot segment.
const MAYBE_DENORMAL = /%|\/\/|\/\.(?:\.|\/|$)|\/\.\.?$/;

/**
 * The normal form of a percent-encoded URL path, the one every route and
 * gateway sees: escapes of unreserved characters decoded (RFC 3986 §6.2.2.2,
 * so "%2e%2e" is a dot segment), empty segments merged ("//" -> "/", nginx's
 * merge_slashes: "//cgi-bin/x" would miss a "/cgi-bin/*" route and reach a
 * file route that resolves it to the script's source), then dot segments
 * removed (RFC 3986 §5.2.4; ".." never climbs above "/"). Other escapes stay
 * as they are: decoding them is the gateway's one decoding (safePath).
 */
export function normalizePath(pathname: string): string {
  if (!MAYBE_DENORMAL.test(pathname)) return pathname;
  const segments = decodeUnreserved(pathname).split("/");
  const out: string[] = [];
  // A last segment that is empty, "." or ".." leaves the path ending in "/".
  let directory = false;
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    directory = segment === "" || segment === "." || segment === "..";
    if (segment === "..") out.pop();
    else if (!directory) out.push(segment);
  }
  return out.length === 0 ? "/" : `/${out.join("/")}${directory ? "/" : ""}`;
}

// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".
const UNRESERVED_ESCAPE = /%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])/g;

// Digits decoded after a stray "%" (RFC 3986 §2.1) make a new escape ("%%32%65"
// -> "%2e"): decoded again until none is left, or safePath's one decoding would
// turn it into a dot segment the normal form did not remove.
function decodeUnreserved(pathname: string): string {
  let decoded = pathname;
  for (let last = ""; decoded !== last && decoded.includes("%"); ) {
    last = decoded;
    decoded = last.replace(UNRESERVED_ESCAPE, (escape) => String.fromCharCode(parseInt(escape.slice(1), 16)));
  }
  return decoded;
}

/** `target` (origin-form, or an absolute URL) with its path normalised; undefined when it is already. */
export function normalTarget(target: string): string | undefined {
  const start = pathStart(target);
  if (start < 0) return undefined;
  const query = target.indexOf("?", start);
  const end = query < 0 ? target.length : query;
  const path = target.slice(start, end);
  const normal = normalizePath(path);
  return normal === path ? undefined : target.slice(0, start) + normal + target.slice(end);
}

/** The path and query of a target (origin-form, or an absolute URL). */
export function pathAndQuery(target: string): string {
  const start = pathStart(target);
  if (start >= 0) return target.slice(start);
  const query = target.indexOf("?");
  return query < 0 ? "/" : `/${target.slice(query)}`;
}

/** Where the path of a target (origin-form, or an absolute URL) starts; -1 when it has none. */
function pathStart(target: string): number {
  return target.charCodeAt(0) === 47 /* "/" */ ? 0 : target.indexOf("/", target.indexOf("//") + 2);
}

/** Normalises a URL path (normalizePath) and decodes it once for use under a root. */
export function safePath(pathname: string): SafePath {
  const normal = normalizePath(pathname);
  if (ENCODED_SEPARATOR.test(normal)) return { ok: false, status: 404 };
  const path = decodePath(normal);
  // CVE-2019-11043: CR/LF in PATH_INFO broke php-fpm; NUL truncates file names.
  if (path === null || hasForbiddenPathBytes(path)) return { ok: false, status: 400 };
  if (path.includes("\\")) return { ok: false, status: 404 };
  return { ok: true, path };
}

/** True when `path` (a real path) lies strictly inside the directory `root` (a real path). */
export function isInside(root: string, path: string): boolean {
  return path.startsWith(root.endsWith("/") ? root : `${root}/`) && path.length > root.length;
}

/** Hidden names, and names Windows would alias to another by stripping a trailing dot or space: never a script's. */
export function isRefusedSegment(segment: string): boolean {
  return segment.startsWith(".") || segment.endsWith(".") || segment.endsWith(" ");
}
