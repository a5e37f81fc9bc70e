// RFC 3875 script lookup for CGI routes: which file under the root a request
// runs (SCRIPT_NAME, §4.1.13) and what path follows it (PATH_INFO, §4.1.5).
// The first prefix of the path, segment by segment, that is a regular file is
// the script, whatever its name: unlike FastCGI routes (routing.ts), nothing
// runs that is not a file under the root, so there is no extension to split at.
// A route with `script` runs that one file for every path (mountedScript).
//
// Security rules (DESIGN.md, "Security defaults"):
// - segments starting with "." (.git, .htpasswd) and segments ending in "." or
//   " " (which Windows strips, so `app.pl.` would run `app.pl`) are refused,
//   in PATH_INFO too, since it maps onto the root as PATH_TRANSLATED (§4.1.6);
// - every prefix looked up must have its real path (symlinks resolved) inside
//   the real root, unless `follow_symlinks` lets the link be followed
//   (../symlinks.ts): a path through a refused symlink is 403 whether or not
//   anything exists behind it, so nothing outside can be probed.

import type { FileCache, FileFacts } from "../../src/file-cache.ts";
import { isRefusedSegment } from "../../src/paths.ts";
import type { FileStat } from "../../src/runtime.ts";
import type { SymlinkPolicy } from "../symlinks.ts";

export interface ScriptLocation {
  /**
   * The document root as configured (absolute): SCRIPT_FILENAME is it plus
   * SCRIPT_NAME, DOCUMENT_ROOT and PATH_TRANSLATED (§4.1.6) start with it.
   */
  root: string;
  /** The document root with every symlink resolved: whatever is looked up must lie inside it, or be let out by `symlinks`. */
  realRoot: string;
  symlinks: SymlinkPolicy;
  /** Scripts tried, in order, for a path that names a directory. */
  index: string[];
  files: FileCache;
}

export type ScriptLookup =
  | {
      ok: true;
      /** The URL path of the script under the root (not its symlink target): SCRIPT_NAME after the route's stripped prefix. */
      scriptName: string;
      /** "" or the rest of the path after the script, starting with "/". */
      pathInfo: string;
      /** root + scriptName, as SCRIPT_FILENAME. */
      scriptFilename: string;
      /** The script's real path, inside realRoot unless follow_symlinks let a link out. */
      real: string;
      /**
       * The real directory the script is run beneath (ScriptSpec.root): the
       * real root, or the script's own real directory when a followed
       * symlink led out of it.
       */
      beneath: string;
      stat: FileStat;
    }
  /** 301: the path names a directory without its trailing slash; `noIndex`: a directory without an index script. */
  | { ok: false; status: 301 | 403 | 404; noIndex?: true };

const NOT_FOUND: ScriptLookup = { ok: false, status: 404 };
const FORBIDDEN: ScriptLookup = { ok: false, status: 403 };
const DIRECTORY: ScriptLookup = { ok: false, status: 301 };
const NO_INDEX: ScriptLookup = { ok: false, status: 403, noIndex: true };

/**
 * Finds the script for `path`, a request path already decoded and checked by
 * safePath (src/paths.ts), as `rootedPath` (../rooted-path.ts) gives it under
 * the root; "" is the root itself asked without its slash (a stripped prefix).
 */
export async function findScript(path: string, location: ScriptLocation): Promise<ScriptLookup> {
  if (path === "") return DIRECTORY;
  if (!path.startsWith("/") || path.split("/").some(isRefusedSegment)) return NOT_FOUND;
  const base = location.root.replace(/\/+$/, "");

  // The common case costs one lookup: the whole path names the script (no
  // PATH_INFO) or a directory. When it resolves at all, every prefix is a
  // directory, so no shorter script can come first.
  const whole = await find(base, path, location);
  if (whole === "outside") return FORBIDDEN;
  if (whole?.stat.isDirectory) return path.endsWith("/") ? indexScript(path, base, location) : DIRECTORY;
  // "/app.pl/" is the script with PATH_INFO "/", found by the walk below
  // (whether or not the platform's realpath accepts a file with a slash).
  if (whole?.stat.isFile && !path.endsWith("/")) return script(path, "", base, whole, location);

  // Walk the prefixes ending before each "/" (the whole path is done above).
  for (let end = path.indexOf("/", 1); end !== -1; end = path.indexOf("/", end + 1)) {
    const prefix = path.slice(0, end);
    const found = await find(base, prefix, location);
    if (found === "outside") return FORBIDDEN;
    if (found?.stat.isFile) return script(prefix, path.slice(end), base, found, location);
    if (!found?.stat.isDirectory) return NOT_FOUND;
  }
  // Every prefix is a directory: the last segment names nothing runnable.
  return NOT_FOUND;
}

/**
 * The route's one `script` (a path from the root) for `pathInfo`, the path
 * within the mount; PATH_INFO follows the rules of a looked-up path, since it
 * maps onto the root as PATH_TRANSLATED too (§4.1.6).
 */
export async function mountedScript(scriptPath: string, pathInfo: string, location: ScriptLocation): Promise<ScriptLookup> {
  if (pathInfo.split("/").some(isRefusedSegment)) return NOT_FOUND;
  const base = location.root.replace(/\/+$/, "");
  const found = await find(base, scriptPath, location);
  if (found === "outside") return FORBIDDEN;
  if (!found?.stat.isFile) return NOT_FOUND;
  return { ...script(scriptPath, pathInfo, base, found, location), scriptName: "" };
}

/** The first index script of the directory `path` names; without one 403, as lighttpd (no listings). */
async function indexScript(path: string, base: string, location: ScriptLocation): Promise<ScriptLookup> {
  const dir = path.endsWith("/") ? path : `${path}/`;
  for (const name of location.index) {
    const found = await find(base, dir + name, location);
    if (found === "outside") return FORBIDDEN;
    if (found?.stat.isFile) return script(dir + name, "", base, found, location);
  }
  return NO_INDEX;
}

/** What is at `base + path`: null when nothing is, "outside" when its real path leaves the real root through a refused symlink. */
async function find(base: string, path: string, location: ScriptLocation): Promise<FileFacts | "outside" | null> {
  const facts = await location.files.lookup(base + path);
  if (facts === null) return null;
  return (await location.symlinks.allows(base, path, facts.real)) ? facts : "outside";
}

function script(scriptName: string, pathInfo: string, base: string, facts: FileFacts, location: ScriptLocation): ScriptLookup & { ok: true } {
  const { real } = facts;
  const beneath = location.symlinks.inside(real) ? location.realRoot : real.slice(0, real.lastIndexOf("/")) || "/";
  return { ok: true, scriptName, pathInfo, scriptFilename: base + scriptName, real, beneath, stat: facts.stat };
}
