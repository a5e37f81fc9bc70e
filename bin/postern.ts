// The postern command line (DESIGN.md, "CLI").

import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "smol-toml";
import { parseAccounts, type Accounts } from "../src/accounts.ts";
import { ConfigError, parseConfig, type Config } from "../src/config.ts";
import { wagiConfig } from "../gateways/wasi/wagi.ts";
import { AddressError, parseAddress } from "../src/address.ts";
import { SchemaError } from "../src/config-schema.ts";
import { gatewaySchemas } from "../gateways/index.ts";
import { reopenLogs } from "../src/log-file.ts";
import { checkWsgiRoutes, wsgiCommand, WsgiUsageError } from "../gateways/wsgi/cli.ts";
import type { RunningServer } from "../runtimes/node/index.ts";
import { checkCommand } from "./check.ts";
import { createApp, serve } from "./platform.ts";
import { printSetupError } from "./setup-errors.ts";

const USAGE = `postern: a web gateway to FastCGI, CGI, WSGI, WASI and static backends

Usage:
  postern serve [--config postern.toml] [--listen ADDR]...
  postern check [--config postern.toml]
  postern fastcgi --backend ADDR --root DIR [--index FILE]... [--listen ADDR]...
  postern cgi DIR [--index FILE]... [--run-all] [--listen ADDR]...
  postern wsgi [Gunicorn's options] MODULE:APP    (postern wsgi --help)
  postern wasi FILE.wasm [--listen ADDR]...
  postern wagi modules.toml [--listen ADDR]...
  postern --help | --version

ADDR is host:port, tcp://host:port, [::1]:port or unix:/path.
The default config is ./postern.toml; the default listen address 127.0.0.1:8080.
postern cgi runs only files with an execute bit (others are 403); --run-all
also runs .pl, .py, .rb, .php and .sh files without one, by their interpreter.
SIGTERM or SIGINT: stop accepting, finish requests in flight, exit 0; exit 1
if some are still running after graceful_timeout (30 s by default).
SIGHUP: reload the config (serve --config, wagi, wsgi).
Exit status: 0 after a drain, 1 when graceful_timeout cut it short, 2 for a
usage or config error, 3 when a wsgi app cannot be imported at startup.`;

const WSGI_USAGE = `postern wsgi: a WSGI app served by Python workers postern supervises,
with Gunicorn's flags and defaults

Usage:
  postern wsgi [options] MODULE:APP      (APP defaults to "application")
  postern wsgi -c postern.toml [-b ADDR]...

Options (Gunicorn's):
  -w, --workers N            worker processes ($WEB_CONCURRENCY, else 1)
  --threads N                requests one worker serves at once (1)
  -b, --bind ADDR            listen there, repeatable (0.0.0.0:$PORT, else 127.0.0.1:8000)
  -t, --timeout SECONDS      a request running longer is 504, its worker's stack
                             logged and the worker replaced (30; 0 = none)
  --graceful-timeout SECONDS how long requests in flight are waited for on
                             SIGTERM and SIGHUP (30)
  --max-requests N           recycle a worker after N requests (0 = never)
  --max-requests-jitter N    plus a random 0..N, so workers do not recycle together
  --chdir DIR                import the app from DIR (the working directory)
  --pythonpath DIR[,DIR]     add to sys.path, repeatable
  -e, --env KEY=VALUE        set in the workers' environment, repeatable
  -u, --user USER            run the workers as USER ("nobody" when root)
  -g, --group GROUP          and GROUP (USER's primary group)
  --forwarded-allow-ips IPS  proxies whose X-Forwarded-For/-Proto are believed,
                             comma-separated, * for any ($FORWARDED_ALLOW_IPS,
                             else 127.0.0.1,::1)
  --access-logfile -         log each request on stdout (no access log)
  --limit-request-line N, --limit-request-fields N, --limit-request-field_size N,
  --keep-alive SECONDS       postern's [client] limits
Options (postern's):
  --pass-env NAME[,NAME]     pass these of postern's environment to the workers, repeatable
  --python PATH              the Python interpreter (python3 on PATH)
  --max-worker-memory SIZE   recycle a worker whose memory passes SIZE ("512m"; 0 = none)
  -c, --config postern.toml  serve that config, whose wsgi routes say the rest
  -h, --help                 this text

Workers get PATH, --pass-env's and -e's variables, not postern's whole environment.
Signals: SIGHUP starts new workers with the app's code as it is now and
retires the old ones once they are serving (an app that no longer imports
leaves the old workers serving); SIGTTIN/SIGTTOU add or remove a worker;
SIGTERM/SIGINT finish requests in flight and exit 0.
Exit status 3: the app could not be imported at startup (the Python error
is on stderr).`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case "--version":
    case "-v":
    case "version":
      process.stdout.write(`postern ${version()}\n`);
      return 0;
    case "check":
      return checkCommand(rest);
    case "serve": {
      const { values } = parse(() =>
        parseArgs({ args: rest, options: { config: { type: "string" }, listen: { type: "string", multiple: true } } }),
      );
      const file = values.config ?? "postern.toml";
      const config = withListen(loadConfig(file), values.listen);
      return run(config, dirname(resolve(file)), () => withListen(loadConfig(file), values.listen));
    }
    case "fastcgi": {
      const { values } = parse(() =>
        parseArgs({
          args: rest,
          options: {
            backend: { type: "string", multiple: true },
            root: { type: "string" },
            index: { type: "string", multiple: true },
            listen: { type: "string", multiple: true },
          },
        }),
      );
      if (!values.backend || !values.root) throw new UsageError("fastcgi needs --backend ADDR and --root DIR");
      const options: Record<string, unknown> = { backend: values.backend, root: values.root };
      if (values.index) options.index = values.index;
      const config = quickConfig("fastcgi", options);
      return run(withListen(config, values.listen), process.cwd());
    }
    case "cgi": {
      const { values, positionals } = parse(() =>
        parseArgs({
          args: rest,
          allowPositionals: true,
          options: {
            index: { type: "string", multiple: true },
            "run-all": { type: "boolean" },
            listen: { type: "string", multiple: true },
          },
        }),
      );
      if (positionals.length !== 1) throw new UsageError("cgi needs one directory: postern cgi DIR");
      const options: Record<string, unknown> = {
        root: resolve(positionals[0]!),
        index: values.index ?? ["index.cgi"],
        interpreters: installedInterpreters(),
        // A file left in the directory (a reset-db.sh) must not run on a GET:
        // only what was made executable does, unless asked otherwise.
        executable_only: values["run-all"] !== true,
      };
      return run(withListen(quickConfig("cgi", options), values.listen), process.cwd());
    }
    case "wasi": {
      const { values, positionals } = parse(() =>
        parseArgs({ args: rest, allowPositionals: true, options: { listen: { type: "string", multiple: true } } }),
      );
      if (positionals.length !== 1) throw new UsageError("wasi needs one module: postern wasi FILE.wasm");
      const config = quickConfig("wasi", { module: resolve(positionals[0]!) });
      return run(withListen(config, values.listen), process.cwd());
    }
    case "wsgi": {
      const wsgi = wsgiCommand(rest, { cwd: process.cwd(), env: process.env, gateways: gatewaySchemas, accounts: machineAccounts() });
      if (wsgi.mode === "help") {
        process.stdout.write(`${WSGI_USAGE}\n`);
        return 0;
      }
      if (wsgi.mode === "file") {
        const { file, listen } = wsgi;
        const load = () => {
          const config = withListen(loadConfig(file), listen);
          checkWsgiRoutes(config, file);
          return config;
        };
        return run(load(), dirname(resolve(file)), load);
      }
      // No file to read again: a SIGHUP starts the same route anew, whose new
      // workers import the app's code as it is now (Gunicorn's HUP).
      return run(wsgi.config, process.cwd(), () => wsgi.config);
    }
    case "wagi": {
      const { values, positionals } = parse(() =>
        parseArgs({ args: rest, allowPositionals: true, options: { listen: { type: "string", multiple: true } } }),
      );
      if (positionals.length !== 1) throw new UsageError("wagi needs one file: postern wagi modules.toml");
      const file = positionals[0]!;
      const load = () => withListen(wagiConfig(readConfigFile(file), file, gatewaySchemas), values.listen);
      return run(load(), dirname(resolve(file)), load);
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/** Runs parseArgs, turning its complaints into usage errors. */
function parse<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function loadConfig(file: string): Config {
  return parseConfig(readConfigFile(file), file, gatewaySchemas, machineAccounts());
}

/** This machine's users and groups: a config's `user` and `group` must name one. */
function machineAccounts(): Accounts {
  const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");
  return parseAccounts(read("/etc/passwd"), read("/etc/group"));
}

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A one-route config for the quick modes, validated like a file. */
function quickConfig(gateway: string, options: Record<string, unknown>): Config {
  return parseConfig(stringify({ routes: [{ gateway, ...options }] }), "command line", gatewaySchemas);
}

/** The quick cgi mode runs scripts by extension with the interpreters this machine has. */
const QUICK_INTERPRETERS: Record<string, string> = { ".pl": "perl", ".py": "python3", ".rb": "ruby", ".php": "php-cgi", ".sh": "sh" };

function installedInterpreters(): Record<string, string> {
  const dirs = (process.env.PATH ?? "").split(":").filter(Boolean);
  return Object.fromEntries(
    Object.entries(QUICK_INTERPRETERS).filter(([, program]) => dirs.some((dir) => existsSync(`${dir}/${program}`))),
  );
}

function withListen(config: Config, listen: string[] | undefined): Config {
  if (!listen) return config;
  for (const addr of listen) parseAddress(addr);
  return { ...config, listen };
}

/**
 * Serves `config` until SIGTERM/SIGINT. With `reload` (serve --config),
 * SIGHUP reads the config again, starts the new routes (and their backends),
 * sends new requests to them, and closes the old ones once their requests in
 * flight have finished: no request is dropped. A config that does not load
 * leaves the running one in place. `graceful_timeout` bounds both waits.
 */
async function run(config: Config, baseDir: string, reload?: () => Config): Promise<number> {
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
      process.stderr.write(`postern: ${signal} again: exiting now\n`);
      return exit(1);
    }
    stopping = true;
    process.stderr.write(`postern: ${signal}: finishing requests in flight\n`);
    // The first exit() decides the status: 1 if the deadline came first.
    withDeadline(Promise.resolve(server?.close()).then(closeAll), graceful, () => {
      process.stderr.write(`postern: requests still in flight after ${graceful} ms (graceful_timeout): exiting\n`);
      exit(1);
    }).then(
      () => exit(0),
      (err: unknown) => {
        process.stderr.write(`postern: shutdown: ${err instanceof Error ? err.message : String(err)}\n`);
        exit(1);
      },
    );
  };
  const hangup = async () => {
    if (stopping) return;
    if (!reload) return void process.stderr.write("postern: SIGHUP: no config file to reload\n");
    let next: ReturnType<typeof createApp> | undefined;
    let fresh: Config;
    try {
      fresh = reload();
      next = createApp(fresh, baseDir);
      await next.ready;
      if (fresh.listen.join(" ") !== config.listen.join(" ")) {
        process.stderr.write("postern: SIGHUP: listen addresses change only on a restart\n");
      }
      if (JSON.stringify(fresh.client) !== JSON.stringify(config.client)) {
        process.stderr.write("postern: SIGHUP: [client] limits change only on a restart (the routes' body_timeout and send_timeout follow it now)\n");
      }
    } catch (err) {
      await next?.close();
      process.stderr.write(`postern: SIGHUP: ${err instanceof Error ? err.message : String(err)}; the running config stays\n`);
      return;
    }
    const old = gateway;
    gateway = next;
    process.stderr.write("postern: SIGHUP: config reloaded\n");
    // The new config's graceful_timeout bounds the wait for the old one's requests.
    const wait = (graceful = fresh.gracefulTimeout);
    const closing = withDeadline(old.close(), wait, () =>
      process.stderr.write(`postern: SIGHUP: the old config's requests still in flight after ${wait} ms (graceful_timeout): no longer waited for\n`),
    );
    retiring.add(closing);
    await closing;
    retiring.delete(closing);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", () => void hangup());
  process.on("SIGUSR1", () => void reopenLogs());
  // Gunicorn's: one worker more or fewer on every wsgi route (never fewer than one).
  process.on("SIGTTIN", () => gateway.scale(1));
  process.on("SIGTTOU", () => gateway.scale(-1));
  try {
    await gateway.ready;
    if (stopping) return await exited;
    server = await serve({ fetch: (request, env) => gateway.app.fetch(request, env) }, { listen: config.listen, client: config.client, encodedSlashes: config.encodedSlashes });
  } catch (err) {
    // Never leave the backends it started behind.
    await closeAll();
    const status = printSetupError(err, config);
    if (status === undefined) throw err;
    return status;
  }
  for (const addr of server.addresses) {
    const where = addr.kind === "unix" ? `unix:${addr.path}` : `http://${addr.host.includes(":") ? `[${addr.host}]` : addr.host}:${addr.port}/`;
    process.stdout.write(`postern listening on ${where}\n`);
  }
  return exited;
}

/** Settles when `work` does, or after `ms` (calling `late`), whichever comes first. */
function withDeadline(work: Promise<void>, ms: number, late: () => void): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(() => (late(), resolve()), ms)));
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`postern: ${err.message}\n\n${USAGE}\n`);
    else if (err instanceof WsgiUsageError) process.stderr.write(`postern wsgi: ${err.message}\n(postern wsgi --help lists the options)\n`);
    // A wsgi app that cannot be imported: Gunicorn's boot-error status (its workers' message is already on stderr).
    else if (err instanceof Error && err.name === "BootError") {
      process.stderr.write(`postern: ${err.message}\n`);
      process.exit(3);
    }
    else if (err instanceof ConfigError || err instanceof AddressError || err instanceof SchemaError) {
      process.stderr.write(`postern: ${err.message}\n`);
    } else process.stderr.write(`postern: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
