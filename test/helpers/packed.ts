// postern as a user gets it: `npm pack` of this checkout (its prepack builds
// dist/), then the tarball installed into a fresh project in a temporary
// directory, as `npm install postern` would (hono with it, its peer), nothing
// linked back to the checkout. Done once per test file.

import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const ROOT = join(import.meta.dirname, "../..");
const run = promisify(execFile);

export interface PackedProject {
  /** The project: package.json, node_modules/postern, node_modules/hono; a test writes its app here. */
  dir: string;
  /** The tarball npm pack made. */
  tarball: string;
  /** The paths the tarball holds, relative to the package (as `npm pack --json` lists them). */
  files: string[];
  /** Removes the project and the tarball. */
  cleanup(): Promise<void>;
}

let made: Promise<PackedProject> | undefined;

/** The installed project, made at the first call of a test file and shared by its tests. */
export function packedProject(): Promise<PackedProject> {
  made ??= makeProject();
  return made;
}

/**
 * The environment for npm and npx: without the npm_* variables of an npm
 * that started the tests (`npm test`), which would otherwise be taken as the
 * nested npm's own settings.
 */
export function npmEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => !entry[0].startsWith("npm_") && entry[1] !== undefined));
}

async function makeProject(): Promise<PackedProject> {
  const work = mkdtempSync(join(tmpdir(), "postern-packed-"));
  try {
    const tarball = await pack(join(work, "source"), work);
    const dir = join(work, "project");
    mkdirSync(dir);
    writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "postern-user", private: true, type: "module" }, null, 2)}\n`);
    // hono comes as the package's peer dependency, which npm installs with it.
    await run("npm", ["install", "--no-audit", "--no-fund", tarball.path], { cwd: dir, env: npmEnv() });
    return {
      dir,
      tarball: tarball.path,
      files: tarball.files,
      cleanup: async () => {
        made = undefined;
        rmSync(work, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Packs a copy of the checkout's files (those git tracks or would track), so
 * that the build prepack runs writes its dist/ there: test files packing at
 * once, or a developer's own dist/, never meet. The copy builds with the
 * checkout's node_modules (TypeScript); the tarball holds none of it.
 */
async function pack(copy: string, destination: string): Promise<{ path: string; files: string[] }> {
  await copyCheckout(copy);
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", destination], { cwd: copy, env: npmEnv(), maxBuffer: 16 << 20 });
  // With --json, the prepack script's output goes to stderr.
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  return { path: join(destination, packed!.filename), files: packed!.files.map((f) => f.path) };
}

/** Copies the checkout's files (those git tracks or would track) to `copy`, with its node_modules linked: a tree that builds as the checkout does. */
export async function copyCheckout(copy: string): Promise<void> {
  const { stdout: listed } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, maxBuffer: 16 << 20 });
  for (const file of listed.split("\0")) {
    // A tracked file deleted in the working tree is listed too.
    if (file === "" || !existsSync(join(ROOT, file))) continue;
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    cpSync(join(ROOT, file), join(copy, file));
  }
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
}
