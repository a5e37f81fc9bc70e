// The wsgi route's supervision on each runtime's CLI (Node, Deno, Bun): each
// starts the workers with its own spawn, so each is checked to send the
// timeout's SIGUSR1 (the stacks in the log) and SIGKILL, to restart a worker
// that died, and to stop its workers when it is told to stop.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { spawnPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const PYTHON = requireBinary(["python3"], "python3");

const APP = `
import os, time

def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/crash":
        os._exit(1)
    if path == "/hang":
        time.sleep(3600)
    body = ("%s %s %d" % (environ["SCRIPT_NAME"], path, os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-wsgi-runtimes-"));
  writeFileSync(join(dir, "app.py"), APP);
  giveToScriptUser(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

/** The pids of `parent`'s children. */
function childrenOf(parent: number): number[] {
  try {
    return readdirSync(`/proc/${parent}/task`).flatMap((task) =>
      readFileSync(`/proc/${parent}/task/${task}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

const alive = (pid: number) => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.startsWith("Z");
  } catch {
    return false;
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!PYTHON).each(["node", "deno", "bun"] as CliRuntime[])("wsgi workers on %s", (runtime) => {
  test("timeout: 504 and the stacks in the log; a crash: 502 then 200; SIGTERM: exit 0 and no worker left", { timeout: 90_000 }, async () => {
    const port = await freePort();
    const config = join(dir, `postern-${runtime}.toml`);
    writeFileSync(
      config,
      `listen = ["127.0.0.1:${port}"]\naccess_log = false\n[[routes]]\npath = "/py/*"\ngateway = "wsgi"\napp = "app:application"\nchdir = "${dir}"\npython = "${PYTHON}"\ntimeout = "2s"\n`,
    );
    const { proc, log } = spawnPostern(runtime, ["serve", "--config", config]);
    stop = () => stopProcessGroup(proc, "SIGKILL");
    await waitForPort(proc, port, `postern on ${runtime}`, log, 30_000);
    const url = `http://127.0.0.1:${port}`;

    const first = await fetch(`${url}/py/hello`);
    expect(first.status).toBe(200);
    const [, path, pid] = (await first.text()).split(" ");
    expect(path).toBe("/hello");

    expect((await fetch(`${url}/py/hang`)).status).toBe(504);
    const deadline = Date.now() + 20_000;
    while (!/File ".*app\.py", line \d+ in application/.test(log()) && Date.now() < deadline) await sleep(50);
    expect(log()).toContain(`worker ${pid} timed out on GET /py/hang`);
    expect(log()).toMatch(/File ".*app\.py", line \d+ in application/);

    expect((await fetch(`${url}/py/crash`)).status).toBe(502);
    // A connection made in the instant between the crash and its exit being
    // seen can still reach the dying worker's backlog (a 502, docs/gateways/wsgi.md "Worker
    // lifecycle and signals"); once postern has seen the exit, requests wait
    // for the restart.
    const seen = Date.now() + 20_000;
    while (!log().includes("exited with status 1; restarting") && Date.now() < seen) await sleep(20);
    expect((await fetch(`${url}/py/hello`)).status).toBe(200);

    const workers = childrenOf(proc.pid!);
    expect(workers.length).toBeGreaterThanOrEqual(1);
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    proc.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(workers.filter(alive)).toEqual([]);
  });
});
