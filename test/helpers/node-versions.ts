// The Node releases postern is tested on: the one running the tests (the
// machine's) and those test/node-versions/package.json pins, installed from
// the npm registry (`npm ci --prefix test/node-versions`, as .ci/run does).
// Where a pinned one is not installed the tests that need it skip, saying
// how to install it; under CI (CI=true) that is an error, never a skip.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const DIR = join(import.meta.dirname, "../node-versions");
const INSTALL = "npm ci --prefix test/node-versions";

export interface NodeBinary {
  major: number;
  path: string;
}

/** The machine's Node, then each pinned release (its alias is `node<major>`) not of the same major. */
export function nodeBinaries(): NodeBinary[] {
  const own = { major: majorOf(process.version), path: process.execPath };
  const pinned = pinnedMajors()
    .filter((major) => major !== own.major)
    .map((major) => ({ major, path: join(DIR, `node_modules/node${major}/bin/node`) }));
  const missing = pinned.filter((node) => !existsSync(node.path));
  if (missing.length > 0) {
    const message = `Node ${missing.map((node) => node.major).join(", ")} not installed: run \`${INSTALL}\``;
    if (process.env.CI) throw new Error(message);
    console.warn(`skipping: ${message}`);
  }
  return [own, ...pinned.filter((node) => !missing.includes(node))];
}

/** The path of the oldest tested Node of at least `major`, or undefined with a printed reason; throws under CI. */
export function nodeAtLeast(major: number): string | undefined {
  const found = nodeBinaries()
    .filter((node) => node.major >= major)
    .sort((a, b) => a.major - b.major)[0];
  if (found) return found.path;
  const message = `no Node >= ${major}: run \`${INSTALL}\``;
  if (process.env.CI) throw new Error(message);
  console.warn(`skipping: ${message}`);
  return undefined;
}

function pinnedMajors(): number[] {
  const manifest = JSON.parse(readFileSync(join(DIR, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
  return Object.keys(manifest.devDependencies).map((alias) => Number(alias.replace(/^node/, "")));
}

function majorOf(version: string): number {
  return Number(/^v(\d+)\./.exec(version)![1]);
}
