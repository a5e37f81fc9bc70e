// The worker processes of a wsgi route: the adapter's command line
// (--socket, --app, --threads, --workers, --chdir, --pythonpath) run by the
// interpreter found at startup, with the environment the route passes
// (pass_env, then env) and nothing else of postern's, as for CGI scripts
// (RFC 3875 §4.1 leaves the rest to the server; Gunicorn passes its whole
// environment instead); both found by gateways/checks/wsgi.ts.

import type { Runtime } from "../../src/runtime.ts";
import { WorkerGroup, type Seat } from "../../src/supervisor.ts";
import type { WsgiSetup } from "../checks/wsgi.ts";
import type { WsgiOptions } from "./options.ts";

/** The adapter's file, found when workers start: a Worker bundle (workerd) has no import.meta.url, nor processes. */
const adapterPath = () => decodeURIComponent(new URL("./adapter/postern_wsgi.py", import.meta.url).pathname);

/** The route's workers, not started yet (WorkerGroup.start), with its setup found (gateways/checks/wsgi.ts). */
export async function startWorkers<S extends Seat>(runtime: Runtime, o: WsgiOptions, route: string, setup: WsgiSetup): Promise<WorkerGroup<S>> {
  const { python, env, user } = setup;
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
    logOutput: true,
    recycle: { maxRequests: o.max_requests, jitter: o.max_requests_jitter, maxMemory: o.max_worker_memory },
    // As Gunicorn's, the timeout bounds a worker's boot too (its app import).
    startTimeoutMs: o.timeout === 0 ? undefined : o.timeout,
  });
}

/** The adapter's command line: serving on `socket`, or, without one, only importing the app (its --check). */
export function adapterCommand(python: string, o: WsgiOptions, socket?: string): string[] {
  const cmd = [python, adapterPath(), ...(socket === undefined ? ["--check"] : ["--socket", socket]), "--app", o.app, "--threads", String(o.threads), "--workers", String(o.workers)];
  if (o.chdir !== undefined) cmd.push("--chdir", o.chdir);
  for (const dir of o.pythonpath) cmd.push("--pythonpath", dir);
  return cmd;
}
