// `npm run build`: writes dist/, the JavaScript the package ships. Each
// TypeScript source of src/, gateways/, runtimes/ and bin/ becomes a .js and
// a .d.ts at the same place under dist/ (tsconfig.build.json: relative
// imports rewritten from .ts to .js), and the files the code finds at run
// time beside itself are copied next to it. A type error stops it with no
// dist/ left (tsconfig.build.json: noEmitOnError), so a failed build cannot
// be packed by mistake.

import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DIST = join(ROOT, "dist");

/** Directories whose files matching the pattern are read at run time, not imported. */
const ASSETS = [
  // The CGI spawner's C sources, compiled at first use (gateways/cgi/spawner/index.ts).
  { dir: "gateways/cgi/spawner", files: /\.[ch]$/ },
  // The Python side of the WSGI gateway, run by the workers (gateways/wsgi/workers.ts).
  { dir: "gateways/wsgi/adapter", files: /\.py$/ },
  // Node's worker bootstrap and the optional TypeScript hooks (runtimes/node/worker.ts, `postern/register`).
  { dir: "runtimes/node", files: /\.mjs$/ },
];

rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const compiled = spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

for (const { dir, files } of ASSETS) {
  for (const file of readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })) {
    if (files.test(file)) cpSync(join(ROOT, dir, file), join(DIST, dir, file));
  }
}

// The CLI reads its version from the package.json above bin/, which for
// dist/bin/postern.js is dist/'s; "type" keeps dist/'s .js files ES modules.
const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
writeFileSync(join(DIST, "package.json"), `${JSON.stringify({ type: "module", version }, null, 2)}\n`);
