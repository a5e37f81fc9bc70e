// The Python app servers postern's WSGI hosting is measured against, started
// by a test or a benchmark on a free loopback port, each in a process group
// of its own (master and workers), and stopped by that group's pid: Gunicorn
// (docs.gunicorn.org/en/20.1.0/settings.html) and uWSGI's HTTP socket
// (uwsgi-docs.readthedocs.io/en/latest/HTTP.html), both run by Debian's
// /usr/bin/python3, which alone sees Debian's Flask and Django.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.ts";
import { stopProcessGroup, waitForPort } from "./server-process.ts";

/** The directory of the WSGI apps under test (flask_site, django_site, environ_dump, hello). */
export const WSGI_APPS = fileURLToPath(new URL("../fixtures/wsgi-apps", import.meta.url));

export interface PythonServer {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The master's pid (its workers are its children). */
  pid: number;
  /** What it wrote to stdout and stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

export interface GunicornOptions {
  /** MODULE:ATTR, found from `chdir`. */
  app: string;
  chdir?: string;
  workers?: number;
  /** `-k`: "sync" (the default worker) or "gthread". */
  workerClass?: "sync" | "gthread";
  /** `--threads` (gthread workers). */
  threads?: number;
  /** `-e KEY=VALUE` each: the workers' os.environ; SCRIPT_NAME there is Gunicorn's mount prefix. */
  env?: Record<string, string>;
}

/** `gunicorn -b 127.0.0.1:PORT ...`; stopped with SIGINT, Gunicorn's quick shutdown (SIGTERM would wait out its graceful timeout). */
export async function startGunicorn(binary: string, o: GunicornOptions): Promise<PythonServer> {
  const port = await freePort();
  const args = ["-b", `127.0.0.1:${port}`, "--chdir", o.chdir ?? WSGI_APPS, "-w", String(o.workers ?? 1)];
  if (o.workerClass) args.push("-k", o.workerClass);
  if (o.threads !== undefined) args.push("--threads", String(o.threads));
  for (const [key, value] of Object.entries(o.env ?? {})) args.push("-e", `${key}=${value}`);
  return startInGroup("gunicorn", binary, [...args, o.app], port, "SIGINT");
}

export interface UwsgiHttpOptions {
  /** MODULE:ATTR, found from `chdir`. */
  app: string;
  chdir?: string;
  processes?: number;
}

/**
 * `uwsgi --plugin python3 --http-socket 127.0.0.1:PORT --master --processes N`:
 * uWSGI's own HTTP parser in each worker (no router process in front), no
 * request log; stopped with SIGINT (in uWSGI 2.0 SIGTERM means reload). Its
 * listen backlog is raised from 100 to 1024 (Gunicorn's is 2048, Node's
 * 511), or 256 connections overflow it and wait for SYN retries. Its
 * HTTP socket closes the connection after each answer without saying so;
 * `Connection: close` on every answer says it (RFC 9112 §9.6), so a client
 * does not count a closed kept connection as an error (Gunicorn's sync
 * workers send it themselves).
 */
export async function startUwsgiHttp(binary: string, o: UwsgiHttpOptions): Promise<PythonServer> {
  const port = await freePort();
  const [module, callable] = o.app.split(":");
  const args = ["--plugin", "python3", "--http-socket", `127.0.0.1:${port}`, "--master", "--processes", String(o.processes ?? 1)];
  args.push("--chdir", o.chdir ?? WSGI_APPS, "--module", module!, "--callable", callable ?? "application", "--need-app", "--disable-logging");
  args.push("--add-header", "Connection: close", "--listen", "1024");
  return startInGroup("uwsgi", binary, args, port, "SIGINT");
}

async function startInGroup(name: string, binary: string, args: string[], port: number, stopSignal: NodeJS.Signals): Promise<PythonServer> {
  const proc = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let log = "";
  proc.stdout!.on("data", (d) => (log += d));
  proc.stderr!.on("data", (d) => (log += d));
  await waitForPort(proc, port, name, () => log);
  return { url: `http://127.0.0.1:${port}`, port, pid: proc.pid!, log: () => log, stop: () => stopProcessGroup(proc, stopSignal) };
}
