// Which files a static route must never serve: those a script route sharing
// its files would run (DESIGN.md, "Security defaults"), and those with a
// script extension (`deny_extensions`). nginx gets this from its `\.php$`
// location winning over try_files, lighttpd from mapping `.php` to FastCGI
// before mod_staticfile; serving such a file as bytes leaks its source
// (database passwords in wp-config.php). A refused file is *no file*: the
// request goes on to the next route, which runs it.

import { isInside } from "../../src/paths.ts";
import type { FileStat, FileSystem } from "../../src/runtime.ts";
import { interpreters } from "../wasi/interpreter.ts";

/** What a script route runs, from its options: the files it would execute rather than show. */
export interface ScriptFiles {
  /** The route, as messages name it: `routes[1] (fastcgi *)`. */
  route: string;
  /** Its root as configured (absolute). */
  root: string;
  /** A file whose name ends in one of these runs (".php"). */
  extensions: string[];
  /** A file with one of these names runs wherever it is (index scripts). */
  names: string[];
  /** These paths under the root run whatever their names (a front controller). */
  paths: string[];
  /** Any file with an execute bit runs (a cgi route's programs). */
  executables: boolean;
}

/** The script files of a route, for the gateways that run files from a root; undefined for the others. */
export function scriptFilesOf(gateway: string, options: Record<string, unknown>, route: string): ScriptFiles | undefined {
  const none = { route, extensions: [], names: [], paths: [], executables: false };
  switch (gateway) {
    case "fastcgi": {
      // gateways/fastcgi/routing.ts: the split_path (or extensions) segment, an index script, the front controller or the one script.
      const paths = [options.front_controller, options.script].filter((path): path is string => path !== undefined);
      const extensions = (options.extensions as string[] | undefined) ?? [options.split_path as string];
      return { ...none, root: options.root as string, extensions, names: options.index as string[], paths };
    }
    case "cgi":
      // gateways/cgi/index.ts: a file with an interpreter's extension, or any executable.
      return { ...none, root: options.root as string, extensions: Object.keys(options.interpreters as object), executables: true };
    case "wasi": {
      const interpreter = interpreters[options.interpreter as string];
      if (!interpreter || options.root === undefined) return undefined;
      return { ...none, root: options.root as string, extensions: [interpreter.extension], names: [interpreter.index] };
    }
    default:
      return undefined;
  }
}

/** A script route whose root shares files with a static root. */
export type SharedScripts = ScriptFiles & { realRoot: string };

/** True when two real directories share files: the same, or one inside the other. */
function overlap(a: string, b: string): boolean {
  return a === b || isInside(a, b) || isInside(b, a);
}

/** The routes of `scripts` whose roots (by real path) share files with the real directory `realRoot`. */
export async function sharingRoot(fs: FileSystem, realRoot: string, scripts: readonly ScriptFiles[]): Promise<SharedScripts[]> {
  const shared: SharedScripts[] = [];
  for (const script of scripts) {
    // A root that does not exist fails its own route's setup.
    const real = await fs.realpath(script.root);
    // Without its trailing "/", so that what follows it in a file's real path starts with one ("/" itself is "").
    if (real !== null && overlap(realRoot, real)) shared.push({ ...script, realRoot: real.replace(/\/$/, "") });
  }
  return shared;
}

/**
 * A file name as an attacker can spell it so that something runs it: Unicode
 * compatibility forms and letter case folded (a case-insensitive filesystem
 * opens `X.PHP` for `x.php`), and the trailing dots, spaces and NTFS stream
 * suffix (`::$DATA`) that Windows drops from a name removed.
 */
function comparable(name: string): string {
  return name.normalize("NFKC").toLowerCase().replace(/(?:::\$data|[. ])+$/, "");
}

/** The names made comparable; one that folds to nothing ("."), which every name would end with, is dropped. */
function comparableAll(names: readonly string[]): string[] {
  return names.map(comparable).filter((name) => name !== "");
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** A file found under a static root: the URL path it was asked by, and what it is. */
export interface FoundFile {
  name: string;
  real: string;
  stat: FileStat;
}

/** Decides, for a static route, which files are scripts it must leave to the routes after it. */
export class ScriptGuard {
  readonly #deny: string[];
  readonly #scripts: SharedScripts[];

  constructor(denyExtensions: readonly string[], scripts: SharedScripts[]) {
    this.#deny = comparableAll(denyExtensions);
    this.#scripts = scripts.map((s) => ({
      ...s,
      extensions: comparableAll(s.extensions),
      names: comparableAll(s.names),
      paths: comparableAll(s.paths),
    }));
  }

  /** True when `file` is a script: by the name asked for or by its real name (a symlink's target). */
  isScript(file: FoundFile): boolean {
    const names = [comparable(basename(file.name)), comparable(basename(file.real))];
    if (names.some((name) => this.#deny.some((ext) => name.endsWith(ext)))) return true;
    return this.#scripts.some((script) => {
      if (!isInside(script.realRoot, file.real)) return false;
      if (script.executables && (file.stat.mode & 0o111) !== 0) return true;
      if (names.some((name) => script.extensions.some((ext) => name.endsWith(ext)) || script.names.includes(name))) return true;
      return script.paths.includes(comparable(file.real.slice(script.realRoot.length)));
    });
  }
}

/** What a route runs, in words: `*.php, index.php, /index.php`. */
export function describeScripts(script: ScriptFiles): string {
  const kinds = [
    ...(script.executables ? ["executable files"] : []),
    ...script.extensions.map((ext) => `*${ext}`),
    ...script.names,
    ...script.paths,
  ];
  return [...new Set(kinds)].join(", ");
}
