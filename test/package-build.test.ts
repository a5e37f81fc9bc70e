// The build the package ships (prepack: `npm run build`) as a source with a
// type error meets it: `npm pack` stops, naming the file and the line, and
// leaves no dist/ behind, neither the failed build's output nor an earlier
// build's, so nothing of it can be packed (`npm pack --ignore-scripts`) or
// imported by a project that links the checkout.

import { execFile } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { copyCheckout, npmEnv } from "./helpers/packed.ts";

const run = promisify(execFile);

test("a type error stops npm pack, names its file and line, and leaves no dist/", async () => {
  const work = mkdtempSync(join(tmpdir(), "postern-build-"));
  const copy = join(work, "source");
  try {
    await copyCheckout(copy);
    mkdirSync(join(copy, "dist"));
    writeFileSync(join(copy, "dist/earlier.js"), "export {};\n");
    appendFileSync(join(copy, "src/errors.ts"), '\nexport const notANumber: number = "one";\n');
    const failed = await run("npm", ["pack", "--pack-destination", work], { cwd: copy, env: npmEnv(), maxBuffer: 16 << 20 }).then(
      () => undefined,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed, "npm pack succeeded").toBeDefined();
    expect(failed!.code).not.toBe(0);
    expect(failed!.stdout + failed!.stderr).toMatch(/src\/errors\.ts\(\d+,\d+\): error TS2322/);
    expect(existsSync(join(copy, "dist"))).toBe(false);
    expect(readdirSync(work).filter((file) => file.endsWith(".tgz"))).toEqual([]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}, 300_000);
