// CGI script trees for the tests that run real scripts (RFC 3875): the
// fixtures of test/fixtures/cgi/ copied into a private temporary directory
// with the file modes each test needs (an execute bit or none is part of what
// is tested, so it is set here rather than trusted to a checkout), symlinks
// that lead out of the root, and the readers of what the env-dump scripts
// print.

import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { giveToScriptUser } from "./script-user.ts";

/** test/fixtures/cgi, where the scripts' sources are. */
export const CGI_FIXTURES = join(import.meta.dirname, "../fixtures/cgi");

/** One entry of a tree, its path relative to the tree's directory (the root is "www/"). */
export type TreeEntry =
  /** A copy of test/fixtures/cgi/<fixture> with this mode. */
  | { path: string; fixture: string; mode: number }
  /** A file with this text and mode. */
  | { path: string; text: string; mode: number }
  /** A symbolic link to `target` (relative to the link's own directory, as `ln -s` takes it). */
  | { path: string; symlink: string };

export interface CgiTree {
  /** The private directory (real path, symlinks resolved), holding www/ and whatever else the entries name. */
  dir: string;
  /** dir + "/www": the document root the servers are given. */
  root: string;
  /** Marker files ("<script>.ran", left by ran.sh) anywhere under dir. */
  ranMarkers(): string[];
  remove(): void;
}

export function makeCgiTree(entries: TreeEntry[]): CgiTree {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "postern-cgi-tree-")));
  const root = join(dir, "www");
  mkdirSync(root);
  for (const entry of entries) {
    const path = join(dir, entry.path);
    mkdirSync(dirname(path), { recursive: true });
    if ("symlink" in entry) {
      symlinkSync(entry.symlink, path);
      continue;
    }
    if ("fixture" in entry) copyFileSync(join(CGI_FIXTURES, entry.fixture), path);
    else writeFileSync(path, entry.text);
    chmodSync(path, entry.mode);
  }
  // Scripts run as nobody when the tests run as root: they read the tree and leave markers in it.
  giveToScriptUser(dir);
  return {
    dir,
    root,
    ranMarkers: () => findFiles(dir, (name) => name.endsWith(".ran")),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function findFiles(dir: string, wanted: (name: string) => boolean): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findFiles(path, wanted));
    else if (wanted(entry.name)) found.push(path);
  }
  return found;
}

/** What env.pl and env.py print. */
export interface EnvReport {
  /** The script's whole environment; values are the bytes it got, decoded as UTF-8. */
  env: Record<string, string>;
  argv: string[];
  cwd: string;
  body_length: number;
  body_md5: string;
}

/**
 * Parses env.pl's JSON (or env.py's). env.pl writes every byte above 0x7f as
 * \u00XX, so its strings are the bytes as latin1 characters: they are turned
 * back into bytes and decoded as UTF-8 (`latin1: true`).
 */
export function parseEnvReport(text: string, latin1: boolean): EnvReport {
  let report: EnvReport;
  try {
    report = JSON.parse(text) as EnvReport;
  } catch {
    throw new Error(`not an env report: ${JSON.stringify(text.slice(0, 300))}`);
  }
  if (!latin1) return report;
  const bytes = (s: string) => Buffer.from(s, "latin1").toString("utf8");
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(report.env)) env[key] = bytes(value);
  return { ...report, env, argv: report.argv.map(bytes), cwd: bytes(report.cwd) };
}

/** What env.sh prints: its KEY=value lines (arg= repeats), one map and the argument list. */
export function parseShellReport(text: string): { argv: string[]; values: Record<string, string> } {
  const argv: string[] = [];
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === "arg") argv.push(value);
    else values[key] ??= value;
  }
  return { argv, values };
}

/**
 * True when Perl has CGI.pm (Debian libcgi-pm-perl). Where it is missing a
 * developer machine skips with a message; under CI (CI=true) it is an error,
 * as for requireBinary (binaries.ts).
 */
export function requireCgiPm(perl: string | undefined): boolean {
  if (!perl) return false;
  if (spawnSync(perl, ["-MCGI", "-e1"], { stdio: "ignore" }).status === 0) return true;
  const message = "Perl's CGI.pm not found: install it with `apt-get install -y libcgi-pm-perl`";
  if (process.env.CI) throw new Error(message);
  console.warn(`skipping: ${message}`);
  return false;
}

/** Compiles one C source with `cc` into `output` (mode 0755); throws with the compiler's output on failure. */
export function compileC(cc: string, source: string, output: string): void {
  const result = spawnSync(cc, ["-O2", "-o", output, source], { encoding: "utf8" });
  if (result.status !== 0 || !existsSync(output)) {
    throw new Error(`${cc} ${source} failed (${result.status}): ${result.stderr}`);
  }
  chmodSync(output, 0o755);
}
