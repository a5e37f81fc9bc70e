// Case `wsgi`: one WSGI app (test/fixtures/wsgi-apps/bench_site.py: a bare
// hello world at "/", a Flask page rendering a Jinja template elsewhere)
// hosted with 2 Python worker processes by each server: postern (Node and
// Bun), Gunicorn's sync and gthread workers, and uWSGI's HTTP socket.
//
// Every server runs under Debian's /usr/bin/python3 with the same app module.
// CPU is counted for the whole server (front process and its Python workers),
// as Gunicorn's and uWSGI's workers parse HTTP themselves; the "python
// workers" column is the workers' share (postern's own is the difference).

import type { BenchCase, Scenario, Server } from "../case.ts";
import { expectAnswer } from "../check.ts";
import { pidsWithCommandLine, processTree } from "../cpu.ts";
import { startPosternProcess, type Cleanup } from "../processes.ts";
import { POSTERN_CLI } from "../../test/helpers/postern-cli.ts";
import { startGunicorn, startUwsgiHttp, type PythonServer } from "../../test/helpers/python-servers.ts";
import { wsgiRoutes } from "../../test/helpers/wsgi-apps.ts";

const APP = "bench_site:app";
/** What a postern worker's command line holds (gateways/wsgi/adapter/). */
const ADAPTER = "postern_wsgi.py";
/** Python worker processes per server. */
const WORKERS = 2;
/** gthread threads per worker. */
const THREADS = 4;

const scenarios: Scenario[] = [
  { name: "hello-c32", title: "hello world WSGI app, 32 connections", path: "/", connections: 32, metric: "rps" },
  { name: "hello-c256", title: "hello world WSGI app, 256 connections", path: "/", connections: 256, metric: "rps" },
  { name: "flask-c32", title: "Flask page rendering a Jinja template, 32 connections", path: "/hello/world", connections: 32, metric: "rps" },
];

export const benchCase: BenchCase = {
  name: "wsgi",
  description:
    `A WSGI app under ${WORKERS} Python worker processes per server (Debian's python3): postern on Node and on Bun, and on Node with ${THREADS} threads per worker; Gunicorn sync, Gunicorn gthread ` +
    `(${THREADS} threads per worker) and uWSGI --http-socket; a hello world at 32 and 256 connections and a Flask + Jinja page at 32.`,
  backend: "python workers",
  requires: [
    { names: ["gunicorn"], apt: "gunicorn", versionArgs: ["--version"] },
    { names: ["uwsgi"], apt: "uwsgi uwsgi-plugin-python3", versionArgs: ["--version"] },
  ],
  scenarios: () => scenarios,
  async start(_settings, cleanup, binaries) {
    const gunicorn = binaries.get("gunicorn")!;
    const servers: Server[] = [];
    // threads = 1 is Gunicorn sync's model; threads = THREADS gthread's.
    for (const [runtime, threads] of [["node", 1], ["bun", 1], ["node", THREADS]] as const) {
      const name = `postern on ${runtime}${threads === 1 ? "" : ` threads=${threads}`}`;
      const routes = wsgiRoutes([{ path: "*", app: APP, workers: WORKERS, threads }]);
      const postern = await startPosternProcess(routes, cleanup, name, POSTERN_CLI[runtime]);
      servers.push({
        name,
        role: "subject",
        note: `postern serve on ${runtime}: one wsgi route, workers = ${WORKERS}, threads = ${threads}, FastCGI over kept unix-socket connections`,
        url: postern.url,
        gatewayPids: () => processTree(postern.pid),
        // Its Python workers only: on Node the TypeScript loader's esbuild service is a child too.
        backendPids: () => {
          const workers = new Set(pidsWithCommandLine(ADAPTER));
          return processTree(postern.pid).filter((pid) => workers.has(pid));
        },
        errorLog: () => postern.errorLog(),
      });
    }
    servers.push(
      reference(
        "gunicorn sync",
        `gunicorn -w ${WORKERS} (sync workers: one request at a time each, a connection closed after each answer)`,
        await started(cleanup, "gunicorn sync", startGunicorn(gunicorn, { app: APP, workers: WORKERS })),
      ),
      reference(
        "gunicorn gthread",
        `gunicorn -k gthread --threads ${THREADS} -w ${WORKERS} (keep-alive connections, ${THREADS} threads per worker)`,
        await started(cleanup, "gunicorn gthread", startGunicorn(gunicorn, { app: APP, workers: WORKERS, workerClass: "gthread", threads: THREADS })),
      ),
      reference(
        "uwsgi",
        `uwsgi --plugin python3 --http-socket --master --processes ${WORKERS} --disable-logging (uWSGI's HTTP parser in each worker)`,
        await started(cleanup, "uwsgi", startUwsgiHttp(binaries.get("uwsgi")!, { app: APP, processes: WORKERS })),
      ),
    );
    for (const server of servers) {
      await expectAnswer(server, "/", "Hello, world!\n");
      await expectAnswer(server, "/hello/world");
    }
    return servers;
  },
};

async function started(cleanup: Cleanup, name: string, starting: Promise<PythonServer>): Promise<PythonServer> {
  const server = await starting;
  cleanup.add(name, () => server.stop());
  return server;
}

/** A Python server that parses HTTP in its own workers: the master's tree is the gateway, its children the workers. */
function reference(name: string, note: string, server: PythonServer): Server {
  return {
    name,
    role: "baseline",
    note,
    url: server.url,
    gatewayPids: () => processTree(server.pid),
    backendPids: () => processTree(server.pid).filter((pid) => pid !== server.pid),
    errorLog: () => server.log(),
  };
}
