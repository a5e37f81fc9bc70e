// The request path: normalised once, before routing, and then decoded once
// for a gateway to map onto a filesystem root, refused when it could name
// something outside the root (DESIGN.md, "Security defaults": merged slashes,
// no dot segments, one decoding; `..`, NUL, encoded slashes).

import { decodePath, hasForbiddenPathBytes } from "./cgi/env.ts";

export type SafePath = { ok: true; path: string } | { ok: false; status: 400 | 404 };

/**
 * What an encoded slash in a request path does (Apache's AllowEncodedSlashes):
 * "refuse" (404: Off), "decode" (it is a "/" before routing: On), "keep" (it
 * stays "%2F" in the path routes and PATH_INFO see: NoDecode).
 */
export const ENCODED_SLASHES = ["refuse", "decode", "keep"] as const;
export type EncodedSlashes = (typeof ENCODED_SLASHES)[number];

// "%2F" and "%5C" would turn one URL segment into two path segments after
// decoding (Apache's AllowEncodedSlashes Off answers 404 for the same reason).
const ENCODED_SEPARATOR = /%(2f|5c)/i;

// What may make a path differ from its normal form: an escape, an empty or a dot segment.
const MAYBE_DENORMAL = /%|\/\/|\/\.(?:\.|\/|$)|\/\.\.?$/;
const ENCODED_SLASH = /%(2f)/gi;

/**
 * The normal form of a percent-encoded URL path, the one every route and
 * gateway sees: escapes of unreserved characters decoded (RFC 3986 §6.2.2.2,
 * so "%2e%2e" is a dot segment), empty segments merged ("//" -> "/", nginx's
 * merge_slashes: "//cgi-bin/x" would miss a "/cgi-bin/*" route and reach a
 * file route that resolves it to the script's source), then dot segments
 * removed (RFC 3986 §5.2.4; ".." never climbs above "/"). Other escapes stay
 * as they are: decoding them is the gateway's one decoding (safePath).
 *
 * An encoded slash, with `slashes` "decode", is a "/" before the segments
 * are cut, so "..%2F" is a dot segment like "../" and climbs no higher. With
 * "keep" it becomes "%252F": one name's "%2F" after the gateway's one
 * decoding (and after hono's, for the routes), never a separator.
 */
export function normalizePath(pathname: string, slashes: EncodedSlashes = "refuse"): string {
  if (!MAYBE_DENORMAL.test(pathname)) return pathname;
  const segments = withSlashes(decodeUnreserved(pathname), slashes).split("/");
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

function withSlashes(pathname: string, slashes: EncodedSlashes): string {
  if (slashes === "refuse" || !pathname.includes("%")) return pathname;
  return pathname.replace(ENCODED_SLASH, slashes === "decode" ? "/" : "%25$1");
}

// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".
const UNRESERVED_ESCAPE = /%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])/g;

// A "%" that starts no escape, and maybe one hex digit after it: what an
// escape decoded right after it would join into a new escape.
const LONE_PERCENT_BEFORE = /%[0-9a-fA-F]?$/;

/**
 * Decodes the escapes of unreserved characters, except one that follows a
 * "%" starting no escape: "%%32%65" would become "%2e", which the gateway's
 * one decoding then makes "." (a second decoding, the dot segment found
 * after dot segments were removed). Left as it is, the path stays malformed,
 * and the gateway answers 400 as nginx and Apache do.
 */
function decodeUnreserved(pathname: string): string {
  if (!pathname.includes("%")) return pathname;
  return pathname.replace(UNRESERVED_ESCAPE, (escape: string, _hex: string, offset: number) =>
    LONE_PERCENT_BEFORE.test(pathname.slice(Math.max(0, offset - 2), offset)) ? escape : String.fromCharCode(parseInt(escape.slice(1), 16)),
  );
}

/** `target` (origin-form, or an absolute URL) with its path normalised; undefined when it is already. */
export function normalTarget(target: string, slashes: EncodedSlashes = "refuse"): string | undefined {
  const start = pathStart(target);
  if (start < 0) return undefined;
  const query = target.indexOf("?", start);
  const end = query < 0 ? target.length : query;
  const path = target.slice(start, end);
  const normal = normalizePath(path, slashes);
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
