// The option types as a user of the installed package sees them: its
// .d.ts files (test/helpers/packed.ts packs and installs it), type-checked
// by tsc with Node's module resolution, strict: a typo'd key, a wrong value
// and a missing required key are errors there too (each `@ts-expect-error`
// is itself an error once its line compiles), and what a user's own
// declarations say of postern's types stays short: named types, not the
// schemas expanded.

import { execFile } from "node:child_process";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { packedProject, type PackedProject } from "./helpers/packed.ts";

const ROOT = join(import.meta.dirname, "..");
const TSC = join(ROOT, "node_modules/.bin/tsc");

const APP = `import { Hono } from "hono";
import { cgi, fastcgi, serve, staticFiles, wasi, type FastCgiInput } from "postern";

const app = new Hono();
export const php = fastcgi({ backend: "127.0.0.1:9000", root: "/srv/www", params: { APP_ENV: "production" }, max_body_size: "16m" });
app.all("*.php", php);
app.all("/cgi-bin/*", cgi({ root: "./cgi-bin", interpreters: { ".pl": "perl" }, timeout: "30s" }));
app.all("/wasm/*", wasi({ module: "./app.wasm", volumes: { "/data": "./data" } }));
app.all("*", staticFiles({ root: "./public" }));
// Options kept in a variable of their own: a literal union (balance) needs the type named.
export const options = { backend: "127.0.0.1:9000", root: "/srv/www", balance: "hash", hash_key: "client_ip" } satisfies FastCgiInput;
app.all("*", fastcgi(options));
// The old name of params is still taken.
app.all("*", fastcgi({ backend: "127.0.0.1:9000", root: "/srv/www", env: { A: "1" } }));

// @ts-expect-error: no such key.
fastcgi({ backend: "127.0.0.1:9000", root: "/srv/www", indx: "index.php" });
// @ts-expect-error: root is a string.
fastcgi({ backend: "127.0.0.1:9000", root: 5 });
// @ts-expect-error: balance is one of three names.
fastcgi({ backend: "127.0.0.1:9000", root: "/srv/www", balance: "random" });
// @ts-expect-error: a nested table's keys are typed too.
fastcgi({ root: "/srv/www", spawn: { comand: ["php-cgi"] } });
// @ts-expect-error: static needs root.
staticFiles({ index: "index.html" });

export const server = await serve(app, { listen: ["127.0.0.1:8080"] });
`;

const TSCONFIG = {
  compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, skipLibCheck: false, types: ["node"], declaration: true, emitDeclarationOnly: true, outDir: "out" },
  files: ["app.ts"],
};

describe("the installed package's types", () => {
  let project: PackedProject;
  beforeAll(async () => {
    project = await packedProject();
    // A Node user's project has Node's types.
    symlinkSync(join(ROOT, "node_modules/@types"), join(project.dir, "node_modules/@types"));
    writeFileSync(join(project.dir, "app.ts"), APP);
    writeFileSync(join(project.dir, "tsconfig.json"), JSON.stringify(TSCONFIG));
  }, 600_000);
  afterAll(async () => {
    await project?.cleanup();
  });

  test("check a user's app: typos and wrong values are errors, and its declarations name postern's types", async () => {
    const result = await promisify(execFile)(TSC, ["-p", "."], { cwd: project.dir, encoding: "utf8" }).catch((err: { stdout: string }) => err);
    expect(result.stdout).toBe("");
    const declarations = readFileSync(join(project.dir, "out/app.d.ts"), "utf8");
    expect(declarations).toContain('export declare const php: import("postern").GatewayHandler;');
    expect(declarations.split("\n").length).toBeLessThan(40);
  }, 300_000);
});
