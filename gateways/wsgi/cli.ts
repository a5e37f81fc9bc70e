// `postern wsgi [options] MODULE:APP`: Gunicorn's command line (the settings
// of gunicorn/config.py that have a postern meaning, with Gunicorn's names,
// forms and defaults) read into the Config a postern.toml with one wsgi route
// parses into, so that `gunicorn -w 4 -b 127.0.0.1:8000 myapp:app` and
// `postern wsgi -w 4 -b 127.0.0.1:8000 myapp:app` serve the same app the same
// way. Pure: the caller passes the environment, the working directory and
// this machine's accounts; `-c` names a postern.toml the caller reads.

import { stringify } from "smol-toml";
import type { Accounts } from "../../src/accounts.ts";
import { AddressError, parseAddress } from "../../src/address.ts";
import { ConfigError, parseConfig, type Config, type GatewaySchema } from "../../src/config.ts";
import { suggest } from "../../src/config-schema.ts";
import { optionOf } from "../../src/command-line.ts";
import { resolvePath } from "../index.ts";

/** A command line that does not say what to serve; the message names the flag as typed. */
export class WsgiUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WsgiUsageError";
  }
}

/** What `postern wsgi ...` asks for. */
export type WsgiCommand =
  /**
   * No config file: one wsgi route at `/*`, built from the flags; `typed`
   * says which flag (or variable) set each of the route's keys, as typed,
   * for the messages about them ("--chdir", "MODULE:APP"); `typedTop` the
   * same for the top-level keys ("--access-logfile").
   */
  | { mode: "quick"; config: Config; typed: Record<string, string>; typedTop: Record<string, string>; pidFile?: string }
  /** `-c FILE`: that postern.toml, served as it is (`-b` replaces its listen). */
  | { mode: "file"; file: string; listen?: string[]; pidFile?: string }
  | { mode: "help" };

export interface WsgiContext {
  /** The directory relative paths on the command line are taken from. */
  cwd: string;
  /** The environment Gunicorn reads its defaults from: PORT, WEB_CONCURRENCY, FORWARDED_ALLOW_IPS. */
  env: Readonly<Record<string, string | undefined>>;
  gateways: Record<string, GatewaySchema>;
  /** When given, every user and group named must exist (as in a postern.toml). */
  accounts?: Accounts;
}

/**
 * Where a flag's value goes: a key of the wsgi route, of the top level, or of
 * `[client]`; or the pid file, which is the command's, not the config's.
 */
type Target = { route: string } | { top: string } | { client: string } | { pidFile: true };

interface Flag {
  names: readonly string[];
  target: Target;
  /** The value as the TOML value of its key; throws WsgiUsageError naming `flag`. */
  read(value: string, flag: string, context: WsgiContext): unknown;
  /** Repeated flags add to a list (or a table) instead of replacing. */
  repeatable?: true;
  /**
   * Its relative paths are taken from --chdir's directory: Gunicorn changes
   * to it before it binds, opens its log files, writes its pid file and
   * imports the app (gunicorn/app/base.py load_config).
   */
  fromChdir?: true;
}

const integer = (value: string, flag: string): number => {
  if (!/^-?\d+$/.test(value)) throw new WsgiUsageError(`${flag}: expected an integer, found ${JSON.stringify(value)}`);
  return Number(value);
};
/** Gunicorn's seconds (`30`, `0.5`), or a postern duration (`"500ms"`). */
const seconds = (value: string): number | string => (/^\d+(\.\d+)?$/.test(value) ? Number(value) : value);
/** Bytes (`1048576`), or a postern size (`"512m"`). */
const size = (value: string): number | string => (/^\d+$/.test(value) ? Number(value) : value);
const text = (value: string): string => value;
/** Relative to the working directory, as Gunicorn takes them. */
const path = (value: string, _flag: string, context: WsgiContext): string => resolvePath(context.cwd, value);

const FLAGS: readonly Flag[] = [
  { names: ["-w", "--workers"], target: { route: "workers" }, read: integer },
  { names: ["-b", "--bind"], target: { top: "listen" }, read: bindAddress, repeatable: true, fromChdir: true },
  { names: ["-u", "--user"], target: { route: "user" }, read: text },
  { names: ["-g", "--group"], target: { route: "group" }, read: text },
  { names: ["-t", "--timeout"], target: { route: "timeout" }, read: seconds },
  { names: ["--graceful-timeout"], target: { top: "graceful_timeout" }, read: seconds },
  { names: ["--max-requests"], target: { route: "max_requests" }, read: integer },
  { names: ["--max-requests-jitter"], target: { route: "max_requests_jitter" }, read: integer },
  { names: ["--max-worker-memory"], target: { route: "max_worker_memory" }, read: size },
  { names: ["--threads"], target: { route: "threads" }, read: integer },
  { names: ["--chdir"], target: { route: "chdir" }, read: path },
  // Gunicorn's is one comma-separated list; repeating it adds to the list here.
  {
    names: ["--pythonpath"],
    target: { route: "pythonpath" },
    read: (value, flag, context) => value.split(",").filter(Boolean).map((dir) => path(dir, flag, context)),
    repeatable: true,
    fromChdir: true,
  },
  { names: ["-e", "--env"], target: { route: "env" }, read: envPair, repeatable: true },
  // postern's own: the workers see PATH and these of postern's environment (Gunicorn's see all of it).
  { names: ["--pass-env"], target: { route: "pass_env" }, read: (value) => ["PATH", ...value.split(",").filter(Boolean)], repeatable: true },
  { names: ["--python"], target: { route: "python" }, read: (value, flag, context) => (value.includes("/") ? path(value, flag, context) : value) },
  { names: ["--forwarded-allow-ips"], target: { top: "trusted_proxies" }, read: allowedIps },
  { names: ["--access-logfile"], target: { top: "access_log" }, read: logFile, fromChdir: true },
  // Gunicorn's --log-file is another name of --error-logfile (gunicorn/config.py ErrorLog).
  { names: ["--error-logfile", "--log-file"], target: { top: "error_log" }, read: logFile, fromChdir: true },
  { names: ["-p", "--pid"], target: { pidFile: true }, read: pidFile, fromChdir: true },
  { names: ["--limit-request-line"], target: { client: "max_request_line" }, read: integer },
  { names: ["--limit-request-fields"], target: { client: "max_headers" }, read: integer },
  { names: ["--limit-request-field_size"], target: { client: "max_header_size" }, read: integer },
  { names: ["--keep-alive"], target: { client: "keepalive_timeout" }, read: seconds },
];

/**
 * Gunicorn's other command-line flags (gunicorn --help): named, they are
 * refused with a pointer to the table of why in docs/gateways/wsgi.md, rather than taken for
 * a typo. Gunicorn 20.1's, and those 22 and 23 added.
 */
export const REFUSED_GUNICORN_FLAGS: readonly string[] = [
  "--backlog", "-k", "--worker-class", "--worker-connections", "--reload", "--reload-engine", "--reload-extra-file",
  "--spew", "--check-config", "--print-config", "--preload", "--no-sendfile", "--reuse-port", "-D", "--daemon",
  "--worker-tmp-dir", "-m", "--umask", "--initgroups", "--disable-redirect-access-to-syslog",
  "--access-logformat", "--log-level", "--capture-output", "--logger-class",
  "--log-config", "--log-config-dict", "--log-syslog-to", "--log-syslog", "--log-syslog-prefix", "--log-syslog-facility",
  "-R", "--enable-stdio-inheritance", "--statsd-host", "--dogstatsd-tags", "--statsd-prefix", "-n", "--name",
  "--paste", "--paster", "--proxy-protocol", "--proxy-allow-from", "--keyfile", "--certfile", "--ssl-version",
  "--cert-reqs", "--ca-certs", "--suppress-ragged-eofs", "--do-handshake-on-connect", "--ciphers", "--paste-global",
  "--strip-header-spaces", "--tolerate-dangerous-framing", "--permit-unconventional-http-method",
  "--permit-unconventional-http-version", "--casefold-http-method", "--forwarder-headers", "--header-map",
  "--permit-obsolete-folding",
];

/** Every flag `postern wsgi` takes, short and long. */
export const WSGI_FLAGS: readonly string[] = [...FLAGS.flatMap((flag) => flag.names), "-c", "--config", "-h", "--help"];

/** Reads `postern wsgi`'s arguments (those after `wsgi`). */
export function wsgiCommand(argv: readonly string[], context: WsgiContext): WsgiCommand {
  const given: { flag: Flag; typed: string; value: unknown }[] = [];
  // The flags read once --chdir is known, wherever it comes on the line.
  const later: { flag: Flag; typed: string; value: string }[] = [];
  const positionals: string[] = [];
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const option = optionOf(arg);
    if (!option) {
      positionals.push(arg);
      continue;
    }
    // `--workers=4`, `--workers 4`, `--work 4`, `-w4`, `-w=4`, `-w 4`, as Python's argparse takes them.
    const { name: typed, inline } = option;
    const name = typed.startsWith("--") ? unabbreviated(typed) : typed;
    if (name === "-h" || name === "--help") return { mode: "help" };
    const flag = FLAGS.find((f) => f.names.includes(name));
    if (!flag && name !== "-c" && name !== "--config") throw unknownFlag(name);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new WsgiUsageError(`${typed} needs a value`);
    if (!flag) configFile = value;
    else if (flag.fromChdir) later.push({ flag, typed, value });
    else given.push({ flag, typed, value: flag.read(value, typed, context) });
  }
  const chdir = given.filter(({ flag }) => "route" in flag.target && flag.target.route === "chdir").at(-1)?.value as string | undefined;
  const fromChdir = { ...context, cwd: chdir ?? context.cwd };
  // In the order typed, for repeated flags' lists.
  for (const { flag, typed, value } of later) given.push({ flag, typed, value: flag.read(value, typed, fromChdir) });
  // The last -p counts, as for every flag that is not repeatable.
  const pid = given.filter(({ flag }) => "pidFile" in flag.target).at(-1);
  const pidFile = pid === undefined ? {} : { pidFile: pid.value as string };
  const settings = given.filter(({ flag }) => !("pidFile" in flag.target));
  if (configFile !== undefined) return { ...fileCommand(configFile, settings, positionals), ...pidFile };
  if (positionals.length !== 1) {
    const found = positionals.length === 0 ? "none" : positionals.map((p) => JSON.stringify(p)).join(", ");
    throw new WsgiUsageError(`wsgi needs one app, MODULE:APP (found ${found}): postern wsgi [options] myapp:app`);
  }
  return { mode: "quick", ...quickConfig(positionals[0]!, settings, context), ...pidFile };
}

/** `-c postern.toml`: the file says everything but, as for `serve --listen`, the addresses `-b` gives (and the pid file). */
function fileCommand(file: string, given: { flag: Flag; typed: string; value: unknown }[], positionals: string[]): WsgiCommand & { mode: "file" } {
  const other = given.find(({ flag }) => !("top" in flag.target && flag.target.top === "listen"));
  if (other) throw new WsgiUsageError(`${other.typed}: with -c, ${file} says it (only -b and -p add to a config file)`);
  if (positionals.length > 0) throw new WsgiUsageError(`with -c, ${file} names the app: found ${JSON.stringify(positionals[0])} too`);
  const listen = given.flatMap(({ value }) => value as string[]);
  return listen.length > 0 ? { mode: "file", file, listen } : { mode: "file", file };
}

/** The quick mode's config: Gunicorn's defaults where no flag says, validated as a postern.toml. */
function quickConfig(
  app: string,
  given: { flag: Flag; typed: string; value: unknown }[],
  context: WsgiContext,
): { config: Config; typed: Record<string, string>; typedTop: Record<string, string> } {
  const { env } = context;
  // Gunicorn's defaults (gunicorn/config.py): they read the environment.
  const top: Record<string, unknown> = {
    listen: [env.PORT ? `0.0.0.0:${env.PORT}` : "127.0.0.1:8000"],
    // Gunicorn logs no requests unless --access-logfile says where.
    access_log: false,
    trusted_proxies: allowedIps(env.FORWARDED_ALLOW_IPS ?? "127.0.0.1,::1"),
  };
  const client: Record<string, unknown> = {};
  // Gunicorn's default chdir is the directory it was started in: the app is imported from there.
  const route: Record<string, unknown> = { path: "/*", gateway: "wsgi", app, chdir: context.cwd };
  if (env.WEB_CONCURRENCY !== undefined) route.workers = integer(env.WEB_CONCURRENCY, "WEB_CONCURRENCY");
  // Which flag (or variable) set each key, as typed, for the messages.
  const typedFor = new Map<string, string>([
    ["routes[0].app", "MODULE:APP"],
    ["listen", "PORT"],
    ["routes[0].workers", "WEB_CONCURRENCY"],
    ["trusted_proxies", "FORWARDED_ALLOW_IPS"],
  ]);
  const seen = new Set<Flag>();
  for (const { flag, typed, value } of given) {
    const target = flag.target as Exclude<Target, { pidFile: true }>;
    const [table, key, at] =
      "route" in target ? [route, target.route, `routes[0].${target.route}`]
      : "top" in target ? [top, target.top, target.top]
      : [client, target.client, `client.${target.client}`];
    table[key] = flag.repeatable && seen.has(flag) ? merge(table[key], value) : value;
    seen.add(flag);
    typedFor.set(at, typed);
  }
  const toml = stringify({ ...top, ...(Object.keys(client).length > 0 ? { client } : {}), routes: [route] });
  const routeKeys = [...typedFor].filter(([at]) => at.startsWith("routes[0].")).map(([at, typed]) => [at.slice("routes[0].".length), typed]);
  const topKeys = [...typedFor].filter(([at]) => !at.includes(".") && !at.includes("["));
  try {
    const config = parseConfig(toml, "command line", context.gateways, context.accounts);
    return { config, typed: Object.fromEntries(routeKeys), typedTop: Object.fromEntries(topKeys) };
  } catch (err) {
    if (!(err instanceof ConfigError) || err.key === undefined) throw err;
    const key = err.key;
    const at = [...typedFor.keys()].find((k) => key === k || key.startsWith(`${k}.`) || key.startsWith(`${k}[`));
    if (at === undefined) throw err;
    throw new WsgiUsageError(`${typedFor.get(at)}: ${err.message.slice(err.message.indexOf(`${key}: `) + key.length + 2)}`);
  }
}

function merge(before: unknown, more: unknown): unknown {
  if (Array.isArray(before)) return [...new Set([...before, ...(more as unknown[])])];
  return { ...(before as object), ...(more as object) };
}

/**
 * Gunicorn's bind forms (gunicorn/util.py parse_address): `HOST`, `HOST:PORT`,
 * `[::1]:PORT`, `tcp://...`, `unix:PATH`; a host alone listens on port 8000.
 * `fd://N` (a socket inherited from a process manager) has no postern form.
 */
function bindAddress(value: string, flag: string, context: WsgiContext): string[] {
  if (value.startsWith("fd://")) throw new WsgiUsageError(`${flag}: postern opens its own sockets; ${JSON.stringify(value)} (an inherited descriptor) has no postern form`);
  const unix = /^unix:(\/\/)?/.exec(value);
  let address = value;
  if (unix) address = `unix:${resolvePath(context.cwd, value.slice(unix[0].length))}`;
  else {
    const rest = value.replace(/^tcp:\/\//, "");
    if (rest === "") address = "0.0.0.0:8000";
    else if (rest.startsWith("[") ? !rest.includes("]:") : !rest.includes(":")) address = `${rest}:8000`;
    else address = rest;
  }
  try {
    parseAddress(address);
  } catch (err) {
    if (err instanceof AddressError) throw new WsgiUsageError(`${flag}: ${err.message}`);
    throw err;
  }
  return [address];
}

/** A file, from the working directory; "" would name the directory itself. */
function pidFile(value: string, flag: string, context: WsgiContext): string {
  if (value === "") throw new WsgiUsageError(`${flag}: expected a file path, found ""`);
  return path(value, flag, context);
}

/** `-e KEY=VALUE`, as Gunicorn's raw_env. */
function envPair(value: string, flag: string): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new WsgiUsageError(`${flag}: expected KEY=VALUE, found ${JSON.stringify(value)}`);
  return { [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** Gunicorn's comma-separated list; `*` trusts every address, as there. */
function allowedIps(value: string): string[] {
  const entries = value.split(",").map((entry) => entry.trim()).filter(Boolean);
  return entries.includes("*") ? ["0.0.0.0/0", "::/0"] : entries;
}

/** `-` (stdout for the access log, stderr for errors), or a file taken from the working directory, as Gunicorn does. */
function logFile(value: string, flag: string, context: WsgiContext): string {
  return value === "-" || value === "" ? value : path(value, flag, context);
}

/**
 * A long option as argparse reads it (allow_abbrev, which Gunicorn keeps):
 * a unique prefix of one stands for it; one of several is an error.
 */
function unabbreviated(typed: string): string {
  const longs = [...WSGI_FLAGS, ...REFUSED_GUNICORN_FLAGS].filter((name) => name.startsWith("--"));
  if (longs.includes(typed)) return typed;
  const matches = longs.filter((name) => name.startsWith(typed));
  if (matches.length > 1) throw new WsgiUsageError(`ambiguous option ${typed}: it could be ${matches.join(", ")}`);
  return matches[0] ?? typed;
}

function unknownFlag(typed: string): WsgiUsageError {
  if (REFUSED_GUNICORN_FLAGS.includes(typed)) {
    return new WsgiUsageError(`${typed}: a Gunicorn setting postern wsgi does not take (see "Gunicorn settings in postern" in docs/gateways/wsgi.md)`);
  }
  const hint = suggest(typed, WSGI_FLAGS);
  return new WsgiUsageError(`unknown option ${typed}${hint || "; see postern wsgi --help"}`);
}

/** A `-c` config must have a wsgi route: `postern wsgi` serves WSGI apps. */
export function checkWsgiRoutes(config: Config, file: string): void {
  if (!config.routes.some((route) => route.gateway === "wsgi")) {
    throw new WsgiUsageError(`${file} has no wsgi route (gateway = "wsgi"); postern serve --config ${file} serves it`);
  }
}
