// postern's private temporary directories on each runtime: one a postern
// killed with SIGKILL left behind is removed when the next one starts, and
// one whose process still runs is never touched (several postern processes
// run at once). Each run has a temporary directory of its own (TMPDIR).

import { spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { requireBinary } from "../helpers/binaries.ts";
import { spawnPostern, type CliRuntime } from "../helpers/postern-cli.ts";
import { freePort } from "../helpers/ports.ts";
import { stopProcessGroup, waitForPort } from "../helpers/server-process.ts";

// The quick cgi mode builds its spawner in a temporary directory with the C compiler.
const CC = requireBinary(["cc"], "gcc");
const RUNTIMES: CliRuntime[] = ["node", "deno", "bun"];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `postern cgi` on `runtime` with `tmp` as its TMPDIR, listening; in a process group of its own. */
async function start(runtime: CliRuntime, www: string, tmp: string): Promise<ChildProcess> {
  const port = await freePort();
  const { proc, log } = spawnPostern(runtime, ["cgi", www, "--listen", `127.0.0.1:${port}`], { TMPDIR: tmp });
  cleanups.push(() => stopProcessGroup(proc, "SIGTERM"));
  await waitForPort(proc, port, `postern on ${runtime}`, log, 30_000);
  return proc;
}

/** The pids named by postern-cgi-<pid>-XXXXXX entries of `tmp`. */
const owners = (tmp: string) =>
  readdirSync(tmp)
    .map((name) => /^postern-cgi-(\d+)-\w+$/.exec(name)?.[1])
    .filter((pid) => pid !== undefined)
    .map(Number);

test.skipIf(!CC).each(RUNTIMES)("on %s, a temporary directory whose postern is gone is removed at start; a live one's is kept", async (runtime) => {
  const dir = mkdtempSync(join(tmpdir(), `postern-tmp-test-${runtime}-`));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const tmp = join(dir, "tmp");
  const www = join(dir, "www");
  mkdirSync(tmp);
  mkdirSync(www);
  writeFileSync(join(www, "index.cgi"), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nok\\n"\n');
  chmodSync(join(www, "index.cgi"), 0o755);
  // A process that has ended: its pid names no process now.
  const dead = spawnSync("true").pid!;
  const stale = join(tmp, `postern-cgi-${dead}-AbC123`);
  const live = join(tmp, `postern-cgi-${process.pid}-XyZ789`);
  const unrelated = join(tmp, "postern-cgi-notes");
  for (const path of [stale, live, unrelated]) {
    mkdirSync(path);
    writeFileSync(join(path, "spawner"), "");
  }

  const first = await start(runtime, www, tmp);
  expect(existsSync(stale)).toBe(false);
  expect(existsSync(live)).toBe(true);
  expect(existsSync(unrelated)).toBe(true);
  const [own] = owners(tmp).filter((pid) => pid !== process.pid);
  expect(own).toBeDefined();

  // Killed where it cannot clean up: its directory stays, until the next postern starts.
  process.kill(-first.pid!, "SIGKILL");
  await new Promise((resolve) => first.once("exit", resolve));
  expect(owners(tmp)).toContain(own);
  await start(runtime, www, tmp);
  expect(owners(tmp)).not.toContain(own);
  expect(owners(tmp)).toContain(process.pid);
  expect(owners(tmp)).toHaveLength(2);
}, 90_000);
