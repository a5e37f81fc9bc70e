// The worker processes of a wsgi route: the Python interpreter found once at
// startup, the adapter's command line (--socket, --app, --threads, --workers,
// --chdir, --pythonpath), and their environment, which is what the route
// passes (pass_env, then env) and nothing else of postern's, as for CGI
// scripts (RFC 3875 §4.1 leaves the rest to the server; Gunicorn passes its
// whole environment instead).

import type { ProcessUser, Runtime } from "../../src/runtime.ts";
import { WorkerGroup, type Seat } from "../../src/supervisor.ts";
import { findProgram } from "../program.ts";
import type { WsgiOptions } from "./options.ts";

/** The adapter's file, found when workers start: a Worker bundle (workerd) has no import.meta.url, nor processes. */
const adapterPath = () => decodeURIComponent(new URL("./adapter/postern_wsgi.py", import.meta.url).pathname);

/** The route's workers, not started yet (WorkerGroup.start). */
export async function startWorkers<S extends Seat>(runtime: Runtime, o: WsgiOptions, route: string, user: ProcessUser | undefined): Promise<WorkerGroup<S>> {
  if (!runtime.spawn || !runtime.fs) throw new Error(`${route}: a wsgi route needs a runtime that can start processes; ${runtime.name} cannot`);
  const env = workerEnv(runtime, o);
  const python = await findProgram(runtime, o.python, env.PATH, user);
  if (!python) throw new Error(`${route}: python: ${JSON.stringify(o.python)} not found${o.python.includes("/") ? "" : " on PATH"}`);
  if (o.chdir !== undefined && !(await runtime.fs.stat(o.chdir))?.isDirectory) {
    throw new Error(`${route}: chdir: ${JSON.stringify(o.chdir)} is not a directory`);
  }
  return WorkerGroup.create<S>(runtime, {
    name: route,
    label: "worker",
    program: o.app,
    dirPrefix: "postern-wsgi-",
    command: (socket) => adapterCommand(python, o, socket),
    count: o.workers,
    env,
    user,
    bootErrors: true,
    logStderr: true,
    recycle: { maxRequests: o.max_requests, jitter: o.max_requests_jitter, maxMemory: o.max_worker_memory },
  });
}

function adapterCommand(python: string, o: WsgiOptions, socket: string): string[] {
  const cmd = [python, adapterPath(), "--socket", socket, "--app", o.app, "--threads", String(o.threads), "--workers", String(o.workers)];
  if (o.chdir !== undefined) cmd.push("--chdir", o.chdir);
  for (const dir of o.pythonpath) cmd.push("--pythonpath", dir);
  return cmd;
}

/** pass_env's variables that postern has, then env's. */
function workerEnv(runtime: Runtime, o: WsgiOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of o.pass_env) {
    const value = runtime.getEnv(name);
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...o.env };
}
