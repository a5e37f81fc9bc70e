// PHP-style script resolution for FastCGI routes: which file under the root a
// request runs (SCRIPT_NAME) and what path follows it (PATH_INFO), the way
// nginx's fastcgi_split_path_info and try_files are used in front of php-fpm.
//
// Security rules:
// - split only at a path segment that ends in the script extension, ASCII
//   case-sensitive, so `/uploads/a.jpg/x.php` can never run `a.jpg`
//   (the php-fpm `cgi.fix_pathinfo` class of bugs);
// - the script must be a regular file whose real path (symlinks resolved)
//   lies inside the real root, when the runtime has a filesystem.

import type { FileCache } from "../../src/file-cache.ts";
import { isInside } from "../../src/paths.ts";

export interface ScriptRouting {
  /** The document root as configured (absolute): SCRIPT_FILENAME starts with it, as nginx's $document_root. */
  root: string;
  /** The document root with every symlink resolved: scripts must lie inside it. */
  realRoot: string;
  index: string[];
  /** The extension that marks a script segment, e.g. ".php". */
  splitPath: string;
  /** Script run when the path names no existing script, e.g. "/index.php" (nginx: try_files ... /index.php). */
  frontController: string | undefined;
  /** Lookups on the runtime's filesystem; undefined where there is none (scripts are then not checked). */
  files: FileCache | undefined;
}

export interface ResolvedScript {
  scriptName: string;
  pathInfo: string;
  /** Absolute path of the script file. */
  scriptFilename: string;
}

/** Resolves a decoded, normalized URL path; undefined means 404. */
export async function resolveScript(path: string, routing: ScriptRouting): Promise<ResolvedScript | undefined> {
  for (const candidate of candidates(path, routing)) {
    const found = await existing(candidate, routing);
    if (found) return found;
  }
  return undefined;
}

/** Scripts to try in order: the split script, index files of a directory, the front controller. */
function candidates(path: string, routing: ScriptRouting): { scriptName: string; pathInfo: string }[] {
  const out: { scriptName: string; pathInfo: string }[] = [];
  const split = splitAt(path, routing.splitPath);
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
  if (!routing.files) return { ...candidate, scriptFilename: joined };
  const found = await routing.files.lookup(joined);
  if (!found?.stat.isFile || !isInside(routing.realRoot, found.real)) return undefined;
  return { ...candidate, scriptFilename: joined };
}
