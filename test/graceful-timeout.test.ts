// graceful_timeout through the real CLI: a CGI script that outlives it does
// not hold a SIGTERM shutdown, nor a SIGHUP reload's old config, longer.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { POSTERN_CLI, spawnPostern } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

let dir = "";
let stop: () => Promise<void> = async () => undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-graceful-"));
  mkdirSync(join(dir, "cgi"));
  // Prints its head, then takes far longer than graceful_timeout to finish; its pid is left for afterEach.
  writeFileSync(join(dir, "cgi/slow.sh"), `#!/bin/sh\necho $$ > ${dir}/script.pid\nprintf 'Content-Type: text/plain\\r\\n\\r\\nstarted\\n'\nexec sleep 20\n`, { mode: 0o755 });
  giveToScriptUser(dir);
});

afterEach(async () => {
  await stop();
  // The script, if postern did not stop it.
  const pidFile = join(dir, "script.pid");
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
    } catch {
      // gone already
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** postern serving the slow script with graceful_timeout = 1 s, and a request to it under way. */
async function slowRequestInFlight() {
  const port = await freePort();
  const config = join(dir, "postern.toml");
  writeFileSync(
    config,
    `listen = "127.0.0.1:${port}"\naccess_log = false\ngraceful_timeout = "1s"\n[[routes]]\ngateway = "cgi"\nroot = "${dir}"\ninterpreters = { ".sh" = "sh" }\n`,
  );
  const { proc, log } = spawnPostern("node", ["serve", "--config", config]);
  stop = () => stopProcessGroup(proc, "SIGTERM");
  await waitForPort(proc, port, "postern", log, 30_000);
  const controller = new AbortController();
  const response = await fetch(`http://127.0.0.1:${port}/cgi/slow.sh`, { signal: controller.signal });
  const reader = response.body!.getReader();
  // The script has started: its first line is here.
  expect(new TextDecoder().decode((await reader.read()).value)).toBe("started\n");
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return { proc, log, exited, abort: () => controller.abort() };
}

async function until(ready: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return ready();
}

test("SIGTERM waits graceful_timeout for the request in flight, then exits 1", async () => {
  const { proc, log, exited, abort } = await slowRequestInFlight();
  try {
    proc.kill("SIGTERM");
    // Well before the script's 20 s and the default 30 s.
    expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r("still running"), 10_000))])).toBe(1);
    expect(log()).toContain("requests still in flight after 1000 ms (graceful_timeout): exiting");
  } finally {
    abort();
  }
}, 30_000);

test("after a SIGHUP, the old config's request in flight is waited for graceful_timeout, no longer", async () => {
  const { proc, log, abort } = await slowRequestInFlight();
  try {
    proc.kill("SIGHUP");
    expect(await until(() => log().includes("config reloaded"), 10_000)).toBe(true);
    expect(await until(() => log().includes("the old config's requests still in flight after 1000 ms (graceful_timeout): no longer waited for"), 10_000)).toBe(true);
  } finally {
    abort();
  }
}, 30_000);

test("--help gives SIGTERM's exit status after graceful_timeout", () => {
  const [file, ...args] = POSTERN_CLI.node;
  const { stdout } = spawnSync(file!, [...args, "--help"], { encoding: "utf8" });
  expect(stdout).toMatch(/exit 1\s+if some are still running after graceful_timeout/);
});
