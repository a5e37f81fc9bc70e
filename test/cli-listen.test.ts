// An address postern cannot listen on, on each runtime: it exits with status
// 1 (a failure at run time, not a usage error), naming the address and why in
// words: a unix socket's missing directory is "no such directory" (Node
// reports it as EACCES), an address in use says so, a permission denied says
// so.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { freePort } from "./helpers/ports.ts";
import { runPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { SCRIPT_USER } from "./helpers/script-user.ts";

const RUNTIMES: CliRuntime[] = ["node", "deno", "bun"];

let dir: string;
let config: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-cli-listen-"));
  // Readable by the user the permission test runs postern as.
  chmodSync(dir, 0o755);
  config = join(dir, "postern.toml");
  writeFileSync(config, `access_log = false\n[[routes]]\ngateway = "static"\nroot = "."\n`, { mode: 0o644 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each(RUNTIMES)("on %s, a unix socket in a directory that does not exist: exit 1, \"no such directory\"", (runtime) => {
  const socket = join(dir, "missing/postern.sock");
  const { status, stderr } = runPostern(["serve", "-c", config, "-b", `unix:${socket}`], { runtime });
  expect(status, stderr).toBe(1);
  expect(stderr).toBe(`postern: cannot listen on unix:${socket}: no such directory ${join(dir, "missing")}\n`);
});

test.each(RUNTIMES)("on %s, an address in use: exit 1, the address named", async (runtime) => {
  const port = await freePort();
  const other: Server = createServer();
  await new Promise<void>((resolve) => other.listen(port, "127.0.0.1", resolve));
  try {
    // The second address is the one in use: the one named is that one, and the first is let go.
    const { status, stderr } = runPostern(["serve", "-c", config, "-b", "127.0.0.1:0", "--bind", `127.0.0.1:${port}`], { runtime });
    expect(status, stderr).toBe(1);
    expect(stderr).toBe(`postern: cannot listen on 127.0.0.1:${port}: address already in use (another server listens there)\n`);
  } finally {
    await new Promise((resolve) => other.close(resolve));
  }
});

test.each(RUNTIMES)("on %s, a directory postern may not write to: exit 1, \"permission denied\"", (runtime) => {
  const locked = join(dir, `locked-${runtime}`);
  mkdirSync(locked, { mode: 0o555 });
  // root writes anywhere: as root, postern runs as the scripts' user here.
  const user = SCRIPT_USER === undefined ? undefined : { uid: SCRIPT_USER.uid, gid: SCRIPT_USER.gid };
  const socket = join(locked, "postern.sock");
  const { status, stderr } = runPostern(["serve", "-c", config, "-b", `unix:${socket}`], { runtime, user, env: { HOME: dir } });
  expect(status, stderr).toBe(1);
  expect(stderr).toBe(`postern: cannot listen on unix:${socket}: permission denied\n`);
});
