// Serving a config until SIGTERM/SIGINT (DESIGN.md, "CLI"): its backends
// started, its addresses listened on, a SIGHUP reload that drops no request
// (the TLS certificates read again too), SIGUSR1's log files opened anew,
// the graceful stop, and the pid file.

import type { SetupProblem } from "../src/check/problems.ts";
import type { Config } from "../src/config.ts";
import { reopenLogs } from "../src/log-file.ts";
import type { RunningServer } from "../runtimes/node/index.ts";
import { ListenError, type Fetchable } from "../runtimes/common/serve.ts";
import { RuntimeFailure, whyNot } from "./failure.ts";
import { removePidFile, writePidFile } from "./pid-file.ts";
import { parseListen } from "../src/tls/listen.ts";
import { readTlsFiles } from "./tls-files.ts";
import { printSetupError } from "./setup-errors.ts";
import { processLog } from "./process-log.ts";
import { createApp, serve } from "./platform.ts";

export interface RunOptions {
  /** Reads the config again on SIGHUP; without it, a SIGHUP is only logged. */
  reload?: () => Config;
  /** Where the process id goes once postern listens (--pid). */
  pidFile?: string;
  /** A setup problem as the command line that set its key says it (a flag); undefined: as a config's. */
  describe?: (problem: SetupProblem) => string | undefined;
}

/**
 * Serves `config` until SIGTERM/SIGINT; resolves with the exit status. With
 * `reload`, SIGHUP reads the config again, starts the new routes (and their
 * backends), sends new requests to them, and closes the old ones once their
 * requests in flight have finished: no request is dropped. A config that
 * does not load leaves the running one in place. `graceful_timeout` bounds
 * both waits.
 */
export async function run(config: Config, baseDir: string, { reload, pidFile, describe }: RunOptions = {}): Promise<number> {
  let gateway = createApp(config, baseDir);
  // The running config's: a SIGHUP may change it.
  let graceful = config.gracefulTimeout;
  const retiring = new Set<Promise<void>>();
  let server: RunningServer | undefined;
  let exit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (exit = resolve));
  let stopping = false;
  const closeAll = () => Promise.all([gateway.close(), ...retiring]).then(() => undefined);
  // Installed before the backends start, so a signal never leaves them behind.
  const stop = (signal: string) => {
    if (stopping) {
      processLog("notice", `${signal} again: exiting now`);
      return exit(1);
    }
    stopping = true;
    processLog("notice", `${signal}: finishing requests in flight`);
    // The first exit() decides the status: 1 if the deadline came first.
    withDeadline(Promise.resolve(server?.close()).then(closeAll), graceful, () => {
      processLog("warn", `requests still in flight after ${graceful} ms (graceful_timeout): exiting`);
      exit(1);
    }).then(
      () => exit(0),
      (err: unknown) => {
        processLog("error", `shutdown: ${err instanceof Error ? err.message : String(err)}`);
        exit(1);
      },
    );
  };
  const hangup = async () => {
    if (stopping) return;
    if (!reload) return void processLog("warn", "SIGHUP: no config file to reload");
    let next: ReturnType<typeof createApp> | undefined;
    let fresh: Config;
    try {
      fresh = reload();
      next = createApp(fresh, baseDir);
      await next.ready;
      if (fresh.listen.join(" ") !== config.listen.join(" ")) {
        processLog("warn", "SIGHUP: listen addresses change only on a restart");
      }
      if (JSON.stringify(fresh.client) !== JSON.stringify(config.client)) {
        processLog("warn", "SIGHUP: [client] limits change only on a restart (the routes' body_timeout and send_timeout follow it now)");
      }
    } catch (err) {
      await next?.close();
      processLog("error", `SIGHUP: ${err instanceof Error ? err.message : String(err)}; the running config stays`);
      return;
    }
    const old = gateway;
    gateway = next;
    processLog("notice", "SIGHUP: config reloaded");
    await reloadCertificates(server, fresh, baseDir);
    // The new config's graceful_timeout bounds the wait for the old one's requests.
    const wait = (graceful = fresh.gracefulTimeout);
    const closing = withDeadline(old.close(), wait, () =>
      processLog("warn", `SIGHUP: the old config's requests still in flight after ${wait} ms (graceful_timeout): no longer waited for`),
    );
    retiring.add(closing);
    await closing;
    retiring.delete(closing);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", () => void hangup());
  // logrotate's postrotate (nginx's USR1): the log files are opened anew at their paths.
  process.on("SIGUSR1", () => void reopenLogs());
  // Gunicorn's: one worker more or fewer on every wsgi route (never fewer than one).
  process.on("SIGTTIN", () => gateway.scale(1));
  process.on("SIGTTOU", () => gateway.scale(-1));
  try {
    await gateway.ready;
    if (stopping) return await exited;
    // The running gateway's, which a SIGHUP replaces.
    server = await listen({ fetch: (request, env) => gateway.app.fetch(request, env) }, config, baseDir);
    if (pidFile !== undefined) writePidFile(pidFile);
  } catch (err) {
    // Never leave the backends it started, or the addresses it listens on, behind.
    await server?.close();
    await closeAll();
    // A route that cannot be set up is a config error, shown as one (exit status 2; 3 for a wsgi app that does not import).
    const status = printSetupError(err, config, describe);
    if (status === undefined) throw err;
    return status;
  }
  for (const [i, addr] of server.addresses.entries()) {
    const where = addr.kind === "unix" ? `unix:${addr.path}` : `${server.schemes[i]}://${addr.host.includes(":") ? `[${addr.host}]` : addr.host}:${addr.port}/`;
    process.stdout.write(`postern listening on ${where}\n`);
  }
  const code = await exited;
  if (pidFile !== undefined) removePidFile(pidFile);
  return code;
}

/** Listens on the config's addresses; one that cannot be is a RuntimeFailure saying which, and why. */
async function listen(app: Fetchable, config: Config, baseDir: string): Promise<RunningServer> {
  const tls = readTlsFiles(config, baseDir);
  try {
    return await serve(app, { listen: config.listen, client: config.client, encodedSlashes: config.encodedSlashes, ...(tls ? { tls } : {}) });
  } catch (err) {
    if (!(err instanceof ListenError)) throw err;
    const addr = parseListen(err.address).address;
    const why = err.cause === undefined ? err.reason : whyNot(err.cause, addr.kind === "unix" ? { path: addr.path } : { port: addr.port });
    throw new RuntimeFailure(`cannot listen on ${err.address}: ${why}`);
  }
}

/**
 * SIGHUP: the `[tls]` files are read again and new handshakes get them;
 * connections open keep theirs. A file that does not load leaves the
 * running certificates in place.
 */
async function reloadCertificates(server: RunningServer | undefined, config: Config, baseDir: string): Promise<void> {
  if (server === undefined || !server.schemes.includes("https")) return;
  try {
    const tls = readTlsFiles(config, baseDir);
    if (tls === undefined) return void processLog("warn", "SIGHUP: [tls] is gone; the running certificates stay until a restart");
    for (const note of await server.reloadTls(tls)) processLog("warn", `SIGHUP: certificates: ${note}`);
    processLog("notice", "SIGHUP: certificates reloaded");
  } catch (err) {
    processLog("error", `SIGHUP: certificates: ${err instanceof Error ? err.message : String(err)}; the running ones stay`);
  }
}

/** Settles when `work` does, or after `ms` (calling `late`), whichever comes first. */
function withDeadline(work: Promise<void>, ms: number, late: () => void): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(() => (late(), resolve()), ms)));
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
