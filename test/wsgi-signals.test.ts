// `postern wsgi` driven as Gunicorn's users drive Gunicorn, through the real
// CLI and real Python workers: SIGHUP loads new code under steady load with
// no failed request (a broken new version leaves the old workers serving;
// with -c it reads the file again), SIGTTIN/SIGTTOU change the worker count,
// SIGTERM drains a request in flight and exits 0, a SIGKILLed postern leaves
// no worker behind, an app that cannot be imported makes postern exit 3 with
// Python's message, and no worker is left a zombie; on Node, Deno and Bun.

import { spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { POSTERN_CLI, spawnPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const PYTHON = requireBinary(["python3"], "python3");

/** The app at `version`: `/` names it, `/slow` says it started (a file) and answers after a while. */
function appSource(version: number): string {
  return `import os, time

def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        open(os.path.join(os.path.dirname(__file__), "slow-started"), "w").close()
        time.sleep(1.5)
        body = b"slow done"
    else:
        body = b"version ${version}"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`;
}

let dir = "";
let stop: () => Promise<void> = async () => undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-wsgi-signals-"));
  writeFileSync(join(dir, "app.py"), appSource(1));
  // As root, the workers run as nobody: they must read the app and write the marker.
  giveToScriptUser(dir);
});

afterEach(async () => {
  await stop();
  stop = async () => undefined;
  rmSync(dir, { recursive: true, force: true });
});

interface Running {
  proc: ChildProcess;
  port: number;
  log: () => string;
  exited: Promise<number | null>;
  get: (path?: string) => Promise<{ status: number; text: string }>;
}

/** `postern wsgi ... app:application` on `runtime`, listening. */
function startWsgi(runtime: CliRuntime, args: string[] = []): Promise<Running> {
  return startPostern(runtime, (port) => [
    "wsgi", "--python", PYTHON!, "-b", `127.0.0.1:${port}`, "--chdir", dir,
    // Every version of app.py is compiled anew, however soon after the last it was written.
    "-e", "PYTHONDONTWRITEBYTECODE=1",
    ...args, "app:application",
  ]);
}

/** postern on `runtime` with the arguments for a free port, listening there. */
async function startPostern(runtime: CliRuntime, args: (port: number) => string[]): Promise<Running> {
  const port = await freePort();
  const { proc, log } = spawnPostern(runtime, args(port));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  stop = () => stopProcessGroup(proc, "SIGKILL");
  await waitForPort(proc, port, "postern wsgi", log, 30_000);
  const get = async (path = "/") => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, text: await response.text() };
  };
  return { proc, port, log, exited, get };
}

/** Every process under `pid`, by /proc's children lists. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children: number[] = [];
      try {
        children = readFileSync(`/proc/${p}/task/${task}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number);
      } catch {
        // the task ended
      }
      for (const child of children) {
        out.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return out;
}

/** A process's state letter (R, S, Z, ...), or undefined when it is gone. */
function stateOf(pid: number): string | undefined {
  try {
    // The state follows the command name, which is in parentheses and may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

/** The live (not zombie) Python workers under postern: processes running the app. */
function workers(pid: number): number[] {
  return descendants(pid).filter((p) => {
    if (stateOf(p) === "Z") return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("app:application");
    } catch {
      return false;
    }
  });
}

function zombies(pid: number): number[] {
  return descendants(pid).filter((p) => stateOf(p) === "Z");
}

/** Polls `ready` every 50 ms for at most `ms`; returns its last answer. */
async function until(ready: () => boolean | Promise<boolean>, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await ready()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Clients asking for `/` back to back until stopped; counts answers and failures. */
function steadyLoad(port: number, clients = 4) {
  let running = true;
  const seen = { ok: 0, failed: [] as string[] };
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`);
        const text = await response.text();
        if (response.status === 200 && text.startsWith("version ")) seen.ok++;
        else seen.failed.push(`${response.status} ${text.slice(0, 80)}`);
      } catch (err) {
        seen.failed.push(String(err));
      }
    }
  });
  return {
    seen,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return seen;
    },
  };
}

// Each runtime's CLI installs its own signal handlers and spawns the workers its own way.
describe.skipIf(!PYTHON).each(["node", "deno", "bun"] as const)("postern wsgi and signals on %s", (runtime) => {
  test("10 SIGHUPs under steady load: no request fails and each new version is served", async () => {
    const server = await startWsgi(runtime, ["-w", "2"]);
    const load = steadyLoad(server.port);
    try {
      for (let version = 2; version <= 11; version++) {
        writeFileSync(join(dir, "app.py"), appSource(version));
        server.proc.kill("SIGHUP");
        const served = await until(async () => (await server.get()).text === `version ${version}`);
        expect(served, `version ${version} not served: ${server.log()}`).toBe(true);
      }
    } finally {
      await load.stop();
    }
    expect(load.seen.failed).toEqual([]);
    expect(load.seen.ok).toBeGreaterThan(0);
    // The old workers are gone, not left running or unreaped.
    expect(await until(() => workers(server.proc.pid!).length === 2 && zombies(server.proc.pid!).length === 0)).toBe(true);
  }, 180_000);

  test("a new version that does not import leaves the old workers serving; a fixed one is served", async () => {
    const server = await startWsgi(runtime, ["-w", "2"]);
    const before = workers(server.proc.pid!);
    writeFileSync(join(dir, "app.py"), "def application(environ, start_response):\n    return [b'unfinished'\n");
    server.proc.kill("SIGHUP");
    expect(await until(() => server.log().includes("the running config stays")), server.log()).toBe(true);
    expect(server.log()).toContain("SyntaxError");
    expect(await server.get()).toEqual({ status: 200, text: "version 1" });
    expect(workers(server.proc.pid!).sort()).toEqual(before.sort());
    writeFileSync(join(dir, "app.py"), appSource(2));
    server.proc.kill("SIGHUP");
    expect(await until(async () => (await server.get()).text === "version 2"), server.log()).toBe(true);
  }, 60_000);

  test("-c: the file's wsgi route, listening where -b says; SIGHUP reads the file again", async () => {
    const file = join(dir, "postern.toml");
    const config = (workers: number) =>
      `listen = "127.0.0.1:1"\naccess_log = false\n[[routes]]\ngateway = "wsgi"\napp = "app:application"\npython = "${PYTHON}"\n` +
      `chdir = "${dir}"\nenv = { PYTHONDONTWRITEBYTECODE = "1" }\nworkers = ${workers}\n`;
    writeFileSync(file, config(1));
    const server = await startPostern(runtime, (port) => ["wsgi", "-c", file, "-b", `127.0.0.1:${port}`]);
    expect(await server.get()).toEqual({ status: 200, text: "version 1" });
    expect(workers(server.proc.pid!)).toHaveLength(1);
    writeFileSync(file, config(3));
    writeFileSync(join(dir, "app.py"), appSource(2));
    server.proc.kill("SIGHUP");
    expect(await until(async () => (await server.get()).text === "version 2"), server.log()).toBe(true);
    expect(await until(() => workers(server.proc.pid!).length === 3), server.log()).toBe(true);
  }, 60_000);

  test("SIGTTIN adds a worker and SIGTTOU removes one, never the last", async () => {
    const server = await startWsgi(runtime, ["-w", "2"]);
    const pid = server.proc.pid!;
    expect(await until(() => workers(pid).length === 2)).toBe(true);
    server.proc.kill("SIGTTIN");
    expect(await until(() => workers(pid).length === 3), server.log()).toBe(true);
    expect(await server.get()).toEqual({ status: 200, text: "version 1" });
    // One at a time: signals of a kind sent together may arrive as one (signal(7)), as with Gunicorn.
    for (const left of [2, 1]) {
      server.proc.kill("SIGTTOU");
      expect(await until(() => workers(pid).length === left), server.log()).toBe(true);
    }
    server.proc.kill("SIGTTOU");
    // The last worker stays, and serves; the removed ones were reaped.
    expect(await server.get()).toEqual({ status: 200, text: "version 1" });
    await new Promise((r) => setTimeout(r, 500));
    expect(workers(pid)).toHaveLength(1);
    expect(await server.get()).toEqual({ status: 200, text: "version 1" });
    expect(await until(() => zombies(pid).length === 0)).toBe(true);
  }, 60_000);

  test("SIGTERM lets the request in flight finish, stops the workers and exits 0", async () => {
    const server = await startWsgi(runtime, ["-w", "2"]);
    const started = workers(server.proc.pid!);
    expect(started).toHaveLength(2);
    const slow = server.get("/slow");
    expect(await until(() => existsSync(join(dir, "slow-started")))).toBe(true);
    server.proc.kill("SIGTERM");
    expect(await slow).toEqual({ status: 200, text: "slow done" });
    expect(await server.exited).toBe(0);
    expect(await until(() => started.every((p) => stateOf(p) === undefined))).toBe(true);
  }, 60_000);

  test("postern killed with SIGKILL leaves no worker running", async () => {
    const server = await startWsgi(runtime, ["-w", "2"]);
    const started = workers(server.proc.pid!);
    expect(started).toHaveLength(2);
    // postern alone, not its process group.
    process.kill(server.proc.pid!, "SIGKILL");
    await server.exited;
    // Orphans are reaped by init (or the test's subreaper), so gone means gone.
    expect(await until(() => started.every((p) => stateOf(p) === undefined || stateOf(p) === "Z"), 15_000)).toBe(true);
  }, 60_000);

  test("an app that cannot be imported: exit status 3 and Python's message", () => {
    writeFileSync(join(dir, "app.py"), "import no_such_module_here\n");
    const [file, ...before] = POSTERN_CLI[runtime];
    const result = spawnSync(
      file!,
      [...before, "wsgi", "--python", PYTHON!, "-b", "127.0.0.1:0", "--chdir", dir, "-w", "2", "app:application"],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(result.status, result.stderr).toBe(3);
    expect(result.stderr).toContain("ModuleNotFoundError: No module named 'no_such_module_here'");
    expect(result.stdout).not.toContain("listening on");
  }, 60_000);
});
