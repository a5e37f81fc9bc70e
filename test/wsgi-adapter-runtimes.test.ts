// The WSGI adapter behind postern's CLI on each runtime (Node, Deno, Bun):
// what depends on the runtime's HTTP server and its process spawning. The
// bytes of PATH_INFO, a stream reaching the client chunk by chunk, the
// iterable's close() when the client leaves, and no worker left running
// when postern itself is SIGKILLed (the adapter's parent-death signal is
// tied to the thread that spawned it, which differs between runtimes).

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freePort } from "./helpers/ports.ts";
import { spawnPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";
import { expectChunkByChunk, running, until, untilServing, wsgiRoute } from "./helpers/wsgi.ts";

/** Live (not zombie) adapter processes whose parent is `pid` (Node's has an esbuild child too). */
function workersOf(pid: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] !== "Z" && Number(fields[1]) === pid && readFileSync(`/proc/${name}/cmdline`, "utf8").includes("postern_wsgi.py")) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe.each(["node", "deno", "bun"] as CliRuntime[])("%s", (runtime) => {
  let dir: string;
  let closeLog: string;
  let base: string;
  let scriptName: string;
  let postern: ReturnType<typeof spawnPostern>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-wsgi-runtime-"));
    closeLog = join(dir, "close.log");
    writeFileSync(closeLog, "");
    giveToScriptUser(dir);
    const port = await freePort();
    const route = wsgiRoute({ app: "probes:app", workers: 2, env: { CLOSE_LOG: closeLog } });
    scriptName = route.scriptName;
    const config = join(dir, "postern.toml");
    writeFileSync(config, `listen = ["127.0.0.1:${port}"]\naccess_log = false\n${route.toml}`);
    postern = spawnPostern(runtime, ["serve", "--config", config]);
    await waitForPort(postern.proc, port, `postern on ${runtime}`, postern.log);
    base = `http://127.0.0.1:${port}${scriptName}`;
    await untilServing(base);
  }, 60_000);

  afterAll(async () => {
    if (postern) await stopProcessGroup(postern.proc, "SIGKILL");
    // Workers that a failing test left behind a killed postern are still in its group.
    try {
      process.kill(-postern.proc.pid!, "SIGKILL");
    } catch {
      // nobody left in the group
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test("PATH_INFO of /caf%C3%A9 is 'cafÃ©'", async () => {
    const env = await (await fetch(`${base}/environ/caf%C3%A9`)).json();
    expect(env.PATH_INFO).toBe("/environ/caf\u00c3\u00a9");
    expect(env.SCRIPT_NAME).toBe(scriptName);
  });

  test("a slow generator's chunks reach the client one by one", async () => {
    await expectChunkByChunk(`${base}/slow`, join(dir, "gate"));
  });

  test("the iterable's close() is called when the client leaves mid-stream", async () => {
    const abort = new AbortController();
    const res = await fetch(`${base}/close?tag=gone&chunks=100000&delay=0.02`, { signal: abort.signal });
    await res.body!.getReader().read();
    abort.abort();
    await until("close()", () => readFileSync(closeLog, "utf8").includes("gone closed"));
  });

  test("no worker is left running when postern is SIGKILLed", async () => {
    const workers = await until("the two workers", () => {
      const pids = workersOf(postern.proc.pid!);
      return pids.length === 2 && pids;
    });
    postern.proc.kill("SIGKILL");
    await until("the workers to exit", () => workers.every((pid) => !running(pid)));
  });
});
