// `postern --version` and `postern --help` load nothing of the gateways, the
// runtimes or the config code: each command's code is imported when it runs
// (bin/commands.ts), so that asking the version costs a Node start and little
// more. The modules Node loads are listed by a module hook.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";

const ROOT = join(import.meta.dirname, "..");
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-cli-startup-"));
  // Runs in Node's hooks thread, after the TypeScript hooks' resolve: every module postern's process imports is a line of the list.
  writeFileSync(
    join(dir, "hooks.mjs"),
    `import { appendFileSync } from "node:fs";\nexport async function resolve(specifier, context, next) {\n  const resolved = await next(specifier, context);\n  if (resolved.url.startsWith("file:")) appendFileSync(process.env.LOADED_LIST, resolved.url + "\\n");\n  return resolved;\n}\n`,
  );
  writeFileSync(join(dir, "register.mjs"), `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The checkout's modules `postern ...args` loads, relative to it. */
function loaded(args: string[]): string[] {
  const list = join(dir, `${args.join("_")}.list`);
  writeFileSync(list, "");
  const { status, stderr } = spawnSync(process.execPath, ["--import", join(dir, "register.mjs"), join(ROOT, "bin/postern.js"), ...args], {
    encoding: "utf8",
    env: { ...process.env, LOADED_LIST: list },
  });
  expect(status, stderr).toBe(0);
  const root = pathToFileURL(ROOT).href;
  return [...new Set(readFileSync(list, "utf8").split("\n").filter((url) => url.startsWith(`${root}/`) && !url.includes("/node_modules/")))].map((url) => url.slice(root.length + 1));
}

test.each(["--version", "--help", "cgi --help"])("postern %s loads only bin/'s entry, its flags, the option reader and its usage texts", (line) => {
  const modules = loaded(line.split(" ")).filter((path) => path.endsWith(".ts"));
  expect(modules.sort()).toEqual(["bin/args.ts", "bin/commands.ts", "bin/postern.ts", "bin/usage.ts", "src/command-line.ts"]);
});

test("postern cgi --bakend, a mistyped flag, loads the suggestion's code and no command", () => {
  const list = join(dir, "typo.list");
  writeFileSync(list, "");
  spawnSync(process.execPath, ["--import", join(dir, "register.mjs"), join(ROOT, "bin/postern.js"), "cgi", "--bakend", "x"], { env: { ...process.env, LOADED_LIST: list } });
  const modules = readFileSync(list, "utf8");
  expect(modules).toContain("/src/config-schema.ts");
  expect(modules).not.toMatch(/\/gateways\/|\/runtimes\/(?!node\/(register|typescript-hooks)\.mjs)|\/bin\/run\.ts|\/bin\/quick-commands\.ts/);
});
