// PHP-style script resolution for FastCGI routes: which file under the root a
// request runs (SCRIPT_NAME) and what path follows it (PATH_INFO), the way
// nginx's fastcgi_split_path_info and try_files are used in front of php-fpm;
// or the one script a whole mount runs (`script`, Apache's ScriptAlias).
//
// Security rules:
// - split only at a path segment that ends in the script extension, ASCII
//   case-sensitive, so `/uploads/a.jpg/x.php` can never run `a.jpg`
//   (the php-fpm `cgi.fix_pathinfo` class of bugs);
// - the script must be a regular file whose real path (symlinks resolved)
//   lies inside the real root, or is let out by `follow_symlinks`
//   (../symlinks.ts), when the runtime has a filesystem.

import type { FileCache } from "../../src/file-cache.ts";
import type { SymlinkPolicy } from "../symlinks.ts";

export interface ScriptRouting {
  /** The document root as configured (absolute): SCRIPT_FILENAME starts with it, as nginx's $document_root. */
  root: string;
  /** The document root with every symlink resolved: scripts must lie inside it. */
  realRoot: string;
  index: string[];
  /** The extensions that mark a script segment, e.g. [".php"]. */
  splitPaths: string[];
  /** The one script every request runs, a path from the root (`script`); its PATH_INFO is the path within the mount. */
  script: string | undefined;
  /** Script run when the path names no existing script, e.g. "/index.php" (nginx: try_files ... /index.php). */
  frontController: string | undefined;
  /** Lookups on the runtime's filesystem and what may leave the root; undefined where there is none (scripts are then not checked). */
  files: { cache: FileCache; symlinks: SymlinkPolicy } | undefined;
}

export interface ResolvedScript {
  kind: "script";
  /** The script's URL path: the route's stripped prefix (`mount`) and the script's path under the root. */
  scriptName: string;
  pathInfo: string;
  /** Absolute path of the script file. */
  scriptFilename: string;
}

/** A script to run; "directory": the path names a directory without its trailing slash (a 301); "none": no script. */
export type Resolved = ResolvedScript | { kind: "directory" } | { kind: "none" };

/**
 * Resolves a decoded, normalized URL path, as `rootedPath` (../rooted-path.ts)
 * splits it: `path` under the root, after the route's stripped prefix `mount`.
 */
export async function resolveScript(mount: string, path: string, routing: ScriptRouting): Promise<Resolved> {
  if (routing.script !== undefined) {
    // The whole mount is the script: SCRIPT_NAME is the mount, PATH_INFO the rest (RFC 3875 §4.1.5, §4.1.13).
    const found = await existing({ scriptName: routing.script, pathInfo: "" }, routing);
    return found ? { ...found, scriptName: mount, pathInfo: path } : { kind: "none" };
  }
  if (path === "" || (await namesDirectory(path, routing))) return { kind: "directory" };
  for (const candidate of candidates(path, routing)) {
    const found = await existing(candidate, routing);
    if (found) return { ...found, scriptName: mount + found.scriptName };
  }
  return { kind: "none" };
}

/** True when `path`, without a trailing slash and without a script segment, names a directory under the root. */
async function namesDirectory(path: string, routing: ScriptRouting): Promise<boolean> {
  if (path.endsWith("/") || !routing.files || splitPoint(path, routing.splitPaths) >= 0) return false;
  const found = await routing.files.cache.lookup(routing.root + path);
  return found !== null && found.stat.isDirectory && (await routing.files.symlinks.allows(routing.root, path, found.real));
}

/** End of the first segment that ends in one of `extensions`, or -1. */
function splitPoint(path: string, extensions: readonly string[]): number {
  let first = -1;
  for (const ext of extensions) {
    const at = splitAt(path, ext);
    if (at >= 0 && (first < 0 || at < first)) first = at;
  }
  return first;
}

/** Scripts to try in order: the split script, index files of a directory, the front controller. */
function candidates(path: string, routing: ScriptRouting): { scriptName: string; pathInfo: string }[] {
  const out: { scriptName: string; pathInfo: string }[] = [];
  const split = splitPoint(path, routing.splitPaths);
  if (split >= 0) {
    out.push({ scriptName: path.slice(0, split), pathInfo: path.slice(split) });
  } else {
    const dir = path.endsWith("/") ? path : `${path}/`;
    for (const index of routing.index) out.push({ scriptName: dir + index, pathInfo: "" });
  }
  if (routing.frontController !== undefined) out.push({ scriptName: routing.frontController, pathInfo: "" });
  return out;
}

/** End of the first segment that ends in `ext`, or -1. */
function splitAt(path: string, ext: string): number {
  let from = 0;
  for (;;) {
    const at = path.indexOf(ext, from);
    if (at < 0) return -1;
    const end = at + ext.length;
    // The extension must end a segment and must not be the whole segment ("/.php").
    if ((end === path.length || path.charCodeAt(end) === 0x2f) && at > 0 && path.charCodeAt(at - 1) !== 0x2f) {
      return end;
    }
    from = at + 1;
  }
}

async function existing(
  candidate: { scriptName: string; pathInfo: string },
  routing: ScriptRouting,
): Promise<ResolvedScript | undefined> {
  const joined = routing.root + candidate.scriptName;
  if (!routing.files) return { kind: "script", ...candidate, scriptFilename: joined };
  const found = await routing.files.cache.lookup(joined);
  if (!found?.stat.isFile || !(await routing.files.symlinks.allows(routing.root, candidate.scriptName, found.real))) return undefined;
  return { kind: "script", ...candidate, scriptFilename: joined };
}
