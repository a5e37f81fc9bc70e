// The wsgi route's workers, end to end with the real adapter and
// /usr/bin/python3: the CGI environment and mount, a worker that dies
// (its request 502, the next 200), boot failures (BootError, no restart
// storm), timeouts (504, the stack in the log, the worker replaced),
// recycling by max_requests and by memory with zero failed requests,
// TTIN/TTOU scaling, and no worker left behind after stop.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createApp, gatewaySchemas, type App } from "../gateways/index.ts";
import { parseConfig } from "../src/config.ts";
import type { Runtime } from "../src/runtime.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { wsgi } from "../runtimes/node/index.ts";
import { serve } from "../runtimes/node/serve.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

const PYTHON = requireBinary(["python3"], "python3");

const PROBE = `
import json, os, sys, time
from urllib.parse import parse_qs

hog = []

def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if path == "/crash":
        os._exit(1)
    if path == "/sleep":
        time.sleep(float(query["s"][0]))
    if path == "/hang":
        time.sleep(3600)
    if path == "/print":
        print("printed by the app", flush=True)
        print("written to stderr by the app", file=sys.stderr, flush=True)
    if path == "/grow":
        # Written, so that every page is resident.
        hog.append(b"x" * (int(query["mib"][0]) * 1024 * 1024))
    keys = ["SCRIPT_NAME", "PATH_INFO", "REMOTE_ADDR", "QUERY_STRING", "REQUEST_METHOD"]
    body = json.dumps({
        "pid": os.getpid(),
        "environ": {k: environ.get(k) for k in keys},
        "os_environ": dict(os.environ),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-wsgi-workers-"));
  writeFileSync(join(dir, "probe.py"), PROBE);
  writeFileSync(join(dir, "broken_import.py"), "import postern_no_such_module\napplication = None\n");
  writeFileSync(join(dir, "broken_syntax.py"), "def application(environ, start_response:\n    pass\n");
  giveToScriptUser(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  url: string;
  errors: string[];
  app: App;
  stop(): Promise<void>;
}

let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** The config's app, served on a loopback port by the Node runtime, its error log and the processes it started kept. */
async function start(route: string, log: string[] = [], spawned: number[] = [], top = ""): Promise<Running> {
  const runtime: Runtime = {
    ...nodeRuntime,
    spawn: (cmd, opts) => {
      const child = nodeRuntime.spawn(cmd, opts);
      spawned.push(child.pid);
      return child;
    },
    logError: (line) => log.push(line),
    logAccess: () => undefined,
  };
  const toml = `listen = ["127.0.0.1:0"]\naccess_log = false\n${top}\n[[routes]]\npath = "/py/*"\ngateway = "wsgi"\npython = "${PYTHON}"\nchdir = "${dir}"\n${route}`;
  const config = parseConfig(toml, "test.toml", gatewaySchemas);
  const app = createApp(config, runtime, dir);
  try {
    await app.ready;
  } catch (err) {
    await app.close();
    throw err;
  }
  const server = await serve(app.app, { listen: config.listen });
  const addr = server.addresses[0]!;
  if (addr.kind !== "tcp") throw new Error("expected a TCP listen address");
  running = {
    url: `http://127.0.0.1:${addr.port}`,
    errors: log,
    app,
    async stop() {
      await server.close();
      await app.close();
    },
  };
  return running;
}

interface Probe {
  pid: number;
  environ: Record<string, string | null>;
  os_environ: Record<string, string>;
}

async function probe(url: string): Promise<Probe> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as Probe;
}

/** The adapter processes among this process's children (postern runs in it). */
function workerPids(): number[] {
  const children = readdirSync(`/proc/${process.pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${process.pid}/task/${task}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number),
  );
  return children.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("postern_wsgi.py");
    } catch {
      return false;
    }
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, done: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${ms} ms`);
    await sleep(25);
  }
}

describe.skipIf(!PYTHON)("wsgi workers", () => {
  test("the route's path is the mount: SCRIPT_NAME /py, PATH_INFO the rest; REMOTE_ADDR the client's", async () => {
    const { url } = await start('app = "probe:application"');
    const { environ } = await probe(`${url}/py/users/7?x=1`);
    expect(environ).toEqual({ SCRIPT_NAME: "/py", PATH_INFO: "/users/7", REMOTE_ADDR: "127.0.0.1", QUERY_STRING: "x=1", REQUEST_METHOD: "GET" });
  });

  test("a relative python path is taken from the config file's directory, as a virtualenv's would be", async () => {
    mkdirSync(join(dir, "venv/bin"), { recursive: true });
    symlinkSync(PYTHON!, join(dir, "venv/bin/python"));
    const toml = `[[routes]]\npath = "/py/*"\ngateway = "wsgi"\napp = "probe:application"\npython = "venv/bin/python"\nchdir = "${dir}"\n`;
    const app = createApp(parseConfig(toml, "test.toml", gatewaySchemas), { ...nodeRuntime, logAccess: () => undefined }, dir);
    try {
      await app.ready;
      const res = await app.app.fetch(new Request("http://localhost/py/x"));
      expect(res.status).toBe(200);
      expect(((await res.json()) as Probe).environ.PATH_INFO).toBe("/x");
    } finally {
      await app.close();
    }
  });

  test("as a hono handler, wsgi({...}) is mounted where the app routes it", async () => {
    const handler = wsgi({ app: "probe:application", chdir: dir, python: PYTHON });
    const app = new Hono();
    app.all("/api/v1/*", handler);
    await handler.ready;
    const server = await serve(app, { listen: ["127.0.0.1:0"] });
    try {
      const addr = server.addresses[0]!;
      if (addr.kind !== "tcp") throw new Error("expected a TCP listen address");
      const { environ } = await probe(`http://127.0.0.1:${addr.port}/api/v1/users`);
      expect(environ).toMatchObject({ SCRIPT_NAME: "/api/v1", PATH_INFO: "/users" });
    } finally {
      await server.close();
      await handler.close();
    }
  });

  test("behind a trusted proxy, REMOTE_ADDR is the client the proxy names", async () => {
    const { url } = await start('app = "probe:application"', [], [], 'trusted_proxies = ["127.0.0.1/32"]');
    const res = await fetch(`${url}/py/`, { headers: { "X-Forwarded-For": "203.0.113.9" } });
    expect(((await res.json()) as Probe).environ.REMOTE_ADDR).toBe("203.0.113.9");
  });

  test("a worker's environment is pass_env and env, nothing else of postern's", async () => {
    const { url } = await start('app = "probe:application"\nenv = { APP_MODE = "test" }\npass_env = ["PATH"]');
    const { os_environ } = await probe(`${url}/py/`);
    expect(os_environ.APP_MODE).toBe("test");
    expect(os_environ.PATH).toBe(process.env.PATH);
    expect(Object.keys(os_environ).filter((k) => !["APP_MODE", "PATH", "LC_CTYPE"].includes(k))).toEqual([]);
  });

  test("what a worker prints to stdout or stderr goes to the error log, with its pid, not to the access log's stdout", async () => {
    const { url, errors } = await start('app = "probe:application"');
    const { pid } = await probe(`${url}/py/print`);
    await until("logged", () => errors.length >= 2);
    expect(errors).toEqual(expect.arrayContaining([`routes[0] (wsgi /py/*): worker ${pid}: printed by the app`, `routes[0] (wsgi /py/*): worker ${pid}: written to stderr by the app`]));
  });

  test("a worker that dies: its request gets 502, the next one 200 from its replacement", async () => {
    const { url, errors } = await start('app = "probe:application"');
    const before = await probe(`${url}/py/`);
    expect((await fetch(`${url}/py/crash`)).status).toBe(502);
    // Once its exit is seen; in the instant before, a new connection may still reach the dying worker (docs/gateways/wsgi.md).
    await until("exit seen", () => errors.some((line) => /exited with status \d+; restarting/.test(line)));
    const after = await probe(`${url}/py/`);
    expect(after.pid).not.toBe(before.pid);
  });

  test.each([
    ["an ImportError", "broken_import", "ModuleNotFoundError: No module named 'postern_no_such_module'"],
    ["a SyntaxError", "broken_syntax", "SyntaxError"],
  ])("an app with %s: ready rejects with a BootError carrying the Python message, once, and no worker is restarted", async (_, module, message) => {
    const log: string[] = [];
    const spawned: number[] = [];
    const err = await start(`app = "${module}:application"\nworkers = 3`, log, spawned).catch((e: unknown) => e);
    expect((err as Error).name).toBe("BootError");
    expect((err as Error).message).toContain(message);
    // The message is the error's: the log does not repeat it, worker by worker.
    expect(log.filter((line) => line.includes(message))).toEqual([]);
    await sleep(1_500);
    expect(spawned).toHaveLength(3);
    expect(workerPids()).toEqual([]);
  });

  test("a request past the timeout: 504, the worker's stacks in the log, its other request 502, the worker replaced", async () => {
    const { url, errors } = await start('app = "probe:application"\ntimeout = "3s"\nthreads = 2');
    const before = await probe(`${url}/py/`);
    // The other request starts well within its own timeout when the worker is killed (3 s + 1 s after the first).
    const [hung, other] = await Promise.all([fetch(`${url}/py/hang`), sleep(2_500).then(() => fetch(`${url}/py/sleep?s=30`))]);
    expect(hung.status).toBe(504);
    expect(other.status).toBe(502);
    const named = errors.findIndex((line) => line.includes(`worker ${before.pid} timed out on GET /py/hang`));
    expect(named, errors.join("\n")).toBeGreaterThanOrEqual(0);
    // faulthandler's dump: every thread, the hung one in the app's frame.
    await until("dumped", () => errors.slice(named).some((line) => /File ".*probe\.py", line \d+ in application/.test(line)));
    expect(errors.slice(named).some((line) => line.includes("most recent call first"))).toBe(true);
    const after = await probe(`${url}/py/`);
    expect(after.pid).not.toBe(before.pid);
  });

  test("max_requests under steady load: zero failed requests, workers replaced", { timeout: 120_000 }, async () => {
    const { url } = await start('app = "probe:application"\nworkers = 2\nmax_requests = 50\nmax_requests_jitter = 10');
    const pids = new Set<number>();
    const failures: string[] = [];
    let next = 0;
    const client = async () => {
      while (next < 1_000) {
        next++;
        const res = await fetch(`${url}/py/`);
        if (res.status !== 200) failures.push(`${res.status} ${await res.text()}`);
        else pids.add(((await res.json()) as Probe).pid);
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
    expect(failures).toEqual([]);
    // 1000 requests over workers replaced every 50 to 60.
    expect(pids.size).toBeGreaterThanOrEqual(10);
  });

  test("max_worker_memory: a worker past it is replaced, failing no request", { timeout: 60_000 }, async () => {
    const { url, errors } = await start('app = "probe:application"\nmax_worker_memory = "64m"');
    const first = await probe(`${url}/py/grow?mib=96`);
    const failures: number[] = [];
    await until("replaced", async () => {
      const res = await fetch(`${url}/py/`);
      if (res.status !== 200) failures.push(res.status);
      return res.status === 200 && ((await res.json()) as Probe).pid !== first.pid;
    });
    expect(failures).toEqual([]);
    expect(errors.some((line) => line.includes(`worker ${first.pid} uses`) && line.includes("max_worker_memory"))).toBe(true);
  });

  test("scale: TTIN adds a worker, TTOU takes one away, never the last", async () => {
    const { url, app } = await start('app = "probe:application"');
    await probe(`${url}/py/`);
    expect(workerPids()).toHaveLength(1);
    app.scale(1);
    await until("two workers", () => workerPids().length === 2);
    app.scale(-1);
    await until("one worker", () => workerPids().length === 1);
    app.scale(-1);
    await sleep(500);
    expect(workerPids()).toHaveLength(1);
    await probe(`${url}/py/`);
  });

  test("after stop, no worker is left, not even a zombie", async () => {
    const r = await start('app = "probe:application"\nworkers = 3');
    await probe(`${r.url}/py/`);
    const pids = workerPids();
    expect(pids).toHaveLength(3);
    await r.stop();
    running = undefined;
    // Reaped: not even a zombie's /proc entry is left.
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  });
});
