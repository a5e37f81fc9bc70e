// postern.toml (DESIGN.md "postern.toml"): parse the TOML with smol-toml,
// validate the common keys and every [[routes]] table against its gateway's
// schema, and report the first problem as `file:line: key: what is wrong`.
// Unknown keys, wrong types and impossible combinations are errors: postern
// never starts half-configured. The caller reads the file; this stays runtime-free.

import { ACCESS_LOG_FORMATS, type AccessLogFormat } from "./access-log.ts";
import { parse, TomlError } from "smol-toml";
import { AccountError, checkNames, PROCESS_USER_FIELDS, type Accounts } from "./accounts.ts";
import { CLIENT_SCHEMA, clientLimits, inheritClientTimeouts, type ClientLimits } from "./client-limits.ts";
import { rememberSource } from "./check/source.ts";
import { formatKey, locate, type KeyPath } from "./config-locate.ts";
import { parseCidr } from "./http/cidr.ts";
import { destinationProblem } from "./logs.ts";
import { checkEndpoints, METRICS_SCHEMA, STATUS_SCHEMA, type EndpointOptions } from "./metrics/options.ts";
import { REAL_IP_HEADERS, type RealIpHeader } from "./http/real-client.ts";
import { ENCODED_SLASHES, type EncodedSlashes } from "./paths.ts";
import { redirectFields, rewriteFields, type RedirectOptions, type RewriteOptions } from "./rewrite/options.ts";
import type { Encoding } from "./runtime.ts";
import { listenProblem, parseListen } from "./tls/listen.ts";
import { TLS_SCHEMA, tlsConfig, tlsProblem, type TlsConfig } from "./tls/options.ts";
import {
  describe,
  isTable,
  SchemaError,
  suggest,
  validateTable,
  validateValue,
  type Field,
  type GatewaySchema,
  type Schema,
} from "./config-schema.ts";

export type { Field, FieldType, GatewaySchema, Schema } from "./config-schema.ts";
export { formatKey } from "./config-locate.ts";

export interface RouteConfig {
  path: string;
  gateway: string;
  /** Line of the route's `[[routes]]` header. */
  line: number;
  /** The gateway's keys, validated, defaults filled, named as in the TOML. */
  options: Record<string, unknown>;
}

export interface Config {
  listen: string[];
  /** Where a line per request goes: "-" (stdout), "off" or a file (src/logs.ts). */
  accessLog: string;
  /** Where postern's errors go: "-" (stderr) or a file. */
  errorLog: string;
  /** Who the processes postern starts run as, unless a route names its own (src/accounts.ts). */
  user?: string;
  group?: string;
  /** Bytes held in memory for request bodies and answers read ahead, all routes together. */
  maxBufferedTotal: number;
  /** Addresses and CIDR blocks whose Forwarded / X-Forwarded-* fields are believed (src/http/real-client.ts). */
  trustedProxies: string[];
  /** The line trusted_proxies is written on, when the config came from a file (for `postern check`'s warnings). */
  trustedProxiesLine?: number;
  /** The one field family trusted proxies are believed through (src/http/real-client.ts). */
  realIpHeader: RealIpHeader;
  /** What "%2F" in a request path does (src/paths.ts). */
  encodedSlashes: EncodedSlashes;
  /** The `[client]` limits and timeouts (src/client-limits.ts). */
  client: ClientLimits;
  /** How long (ms) requests in flight are waited for on SIGTERM/SIGINT, and by a config SIGHUP replaced. */
  gracefulTimeout: number;
  /** `[[redirects]]` and `[[rewrites]]`, in order (src/rewrite/). */
  redirects: RedirectOptions[];
  rewrites: RewriteOptions[];
  /** The encodings routes compress answers to unless they say (gateways/route/compress/). */
  compress: Encoding[];
  /** `[metrics]` and `[status]`: where the Prometheus metrics and the status page are answered, and to whom; absent: off (src/metrics/options.ts). */
  metrics?: EndpointOptions;
  status?: EndpointOptions;
  /** The `[tls]` table, its paths as written (src/tls/options.ts). */
  tls?: TlsConfig;
  /** Plain-HTTP listeners answer 308 to the HTTPS one (absent: false). */
  redirectHttps?: true;
  /** The access log's line format (src/access-log.ts). */
  accessLogFormat: AccessLogFormat;
  routes: RouteConfig[];
}

/** `postern.toml:12: routes[1].backend: expected ...`; the line is left out when unknown. */
export class ConfigError extends Error {
  readonly file: string;
  readonly line?: number;
  readonly key?: string;
  constructor(file: string, line: number | undefined, key: string | undefined, detail: string) {
    super(`${file}${line === undefined ? "" : `:${line}`}: ${key === undefined ? "" : `${key}: `}${detail}`);
    this.name = "ConfigError";
    this.file = file;
    this.line = line;
    this.key = key;
  }
}

/** max_buffered_total when the config does not say. */
export const DEFAULT_MAX_BUFFERED_TOTAL = 64 * 1024 ** 2;

/** The keys outside [[routes]]; `routes` itself is validated by parseConfig. */
export const TOP_LEVEL_SCHEMA: Schema = {
  listen: { type: "string[]", default: ["127.0.0.1:8080"], doc: 'addresses to accept HTTP on, one or more (`"127.0.0.1:8080"`, `"[::1]:8080"`, `"unix:/run/postern.sock"`); `"https://127.0.0.1:8443"` accepts HTTPS there, with the `[tls]` certificate (see [TLS](tls.md)); `-b`/`--listen` on the command line replaces them. A change needs a restart' },
  access_log: {
    type: "string",
    default: "-",
    booleans: ["-", "off"],
    doc: 'where one line per request goes, once its answer is sent, in `access_log_format`: `"-"` stdout, `"off"` nowhere, or a file, appended to and reopened on SIGUSR1 (see [Log files](logs.md)); `true` and `false`, its values before it took a file, still mean `"-"` and `"off"`',
  },
  error_log: {
    type: "string",
    default: "-",
    doc: 'where postern\'s errors go (its own, the backends\' failures, what scripts and workers write to stderr): `"-"` stderr, or a file, as for `access_log`. There is no `"off"`: it is refused rather than taken for a file named `off`, as nginx does',
  },
  ...PROCESS_USER_FIELDS,
  max_buffered_total: {
    type: "size",
    default: DEFAULT_MAX_BUFFERED_TOTAL,
    min: 0,
    doc: "bytes held in memory for request bodies and answers read ahead, all routes together; past it they go to temporary files, or, where the runtime has no files (Workers), a request body that does not fit is refused with 503 and `Retry-After`",
  },
  trusted_proxies: {
    type: "string[]",
    default: [],
    doc: 'addresses and CIDR blocks (`"10.0.0.0/8"`, `"127.0.0.1"`, `"::1/128"`) of the proxies whose `X-Forwarded-For`, `-Proto` and `-Port` (or `Forwarded`, by `real_ip_header`) say who the client is and how it connected; from any other peer those fields change nothing. None by default',
  },
  real_ip_header: {
    type: "string",
    oneOf: REAL_IP_HEADERS,
    default: "X-Forwarded-For",
    doc: 'the one family of fields `trusted_proxies` are believed through, the other ignored: `"X-Forwarded-For"` (with `X-Forwarded-Proto` and `-Port`) or `"Forwarded"` (RFC 7239: `for=`, its port, `proto=`)',
  },
  encoded_slashes: {
    type: "string",
    oneOf: ENCODED_SLASHES,
    default: "refuse",
    doc: "what `%2F` in a request path does, before routing: `\"refuse\"` answers 404; `\"decode\"` makes it a `/` (then `..%2F` is a `..` segment, which never climbs above `/`); `\"keep\"` leaves it `%2F` in the path routes, `PATH_INFO` and file names see, never a separator (Apache's `AllowEncodedSlashes Off`, `On`, `NoDecode`). `%5C` is refused whatever the value. A change needs a restart",
  },
  client: {
    type: { table: CLIENT_SCHEMA },
    default: Object.fromEntries(Object.entries(CLIENT_SCHEMA).map(([key, field]) => [key, field.default])),
    doc: "the `[client]` table: how much of a request head postern reads and how long it waits for a client, on every connection (nginx's `client_*` family)",
  },
  graceful_timeout: {
    type: "duration",
    default: 30_000,
    min: 1,
    doc: "on SIGTERM or SIGINT, how long requests in flight are waited for before postern exits anyway (exit status 1); after a SIGHUP, how long the old config's requests in flight are waited for before postern stops waiting and logs so (they are not cut: each ends by its route's own timeouts). `--graceful-timeout` on the command line replaces it",
  },
  redirects: {
    type: { tables: redirectFields },
    default: [],
    doc: "the `[[redirects]]` tables, tried in order before the rewrites and the routes: the first whose `match` and `host` fit the request answers with its `status` and `Location` (lighttpd's `url.redirect`; see [Rewrites and redirects](rewrites.md))",
  },
  rewrites: {
    type: { tables: rewriteFields },
    default: [],
    doc: "the `[[rewrites]]` tables: the first whose `match` and `host` fit the request gives it a new path before routing, and the list is tried again on the result, at most 10 times (then 500); a rule that gives back its own input ends it (lighttpd's `url.rewrite-once`; see [Rewrites and redirects](rewrites.md))",
  },
  compress: {
    type: "string[]",
    oneOf: ["zstd", "br", "gzip"],
    default: [],
    doc: 'the `compress` of every route that does not set its own: encodings answers are compressed to, in order of preference (`["zstd", "br", "gzip"]`); none by default (see [Compression](compression.md))',
  },
  metrics: {
    type: { table: METRICS_SCHEMA },
    doc: "the `[metrics]` table: Prometheus metrics (text format 0.0.4) of every route, backend and worker at `path`, to the clients in `allow`. Off unless written; `[metrics]` alone turns it on with the defaults (see [Metrics and status](metrics.md))",
  },
  status: {
    type: { table: STATUS_SCHEMA },
    doc: "the `[status]` table: a status page (lighttpd's mod_status) at `path`, to the clients in `allow`, refreshing itself: routes, backends with their health and queues, workers, recent errors; `?json` gives the same as JSON. Off unless written (see [Metrics and status](metrics.md))",
  },
  tls: {
    type: { table: TLS_SCHEMA },
    doc: "the `[tls]` table: the certificate and key the `https://` listen addresses present, and client certificates (see [TLS](tls.md))",
  },
  redirect_https: {
    type: "boolean",
    default: false,
    doc: "plain-HTTP listen addresses answer every request with 308 to the same host, path and query on the first `https://` listen address's port",
  },
  access_log_format: {
    type: "string",
    oneOf: ACCESS_LOG_FORMATS,
    default: "combined",
    doc: '`access_log`\'s line format: `"combined"` (Apache\'s and nginx\'s, the bytes being those of the body actually sent) or `"json"`, one object per line with `time`, `client`, `method`, `target`, `protocol`, `status`, `bytes_sent`, `duration` (ms), `route`, `backend`, `upstream_time` (ms to the backend\'s answer head), `referer` and `user_agent` (see [Logs](logs.md))',
  },
};

/** Every route's `path` (validated here, not by its gateway). */
export const PATH_FIELD: Field = { type: "string", default: "*", doc: "hono path pattern the route answers (`\"/app/*\"`, `\"*\"`); a gateway maps the whole request path onto its root, the route's path is not stripped" };

/**
 * Parses and validates a config. With `accounts` (this machine's users and
 * groups), every `user` and `group` must name one, so that a typo is an
 * error naming its line rather than a failure at startup.
 */
export function parseConfig(text: string, file: string, gateways: Record<string, GatewaySchema>, accounts?: Accounts): Config {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = error.message.replace(/^Invalid TOML document: /, "").split("\n")[0];
    throw new ConfigError(file, error.line, undefined, `invalid TOML: ${reason} (column ${error.column})`);
  }
  try {
    const config = validate(doc, text, gateways);
    if (accounts) checkAccounts(config, accounts);
    rememberSource(config, { file, text });
    return config;
  } catch (error) {
    if (!(error instanceof SchemaError)) throw error;
    throw new ConfigError(file, locate(text, error.at), formatKey(error.path), error.message);
  }
}

/** The Config fields of a validated TOP_LEVEL_SCHEMA table. */
export function topLevelKeys(top: Record<string, unknown>): Omit<Config, "routes"> {
  return {
    listen: top.listen as string[],
    accessLog: top.access_log as string,
    errorLog: top.error_log as string,
    maxBufferedTotal: top.max_buffered_total as number,
    trustedProxies: top.trusted_proxies as string[],
    realIpHeader: top.real_ip_header as RealIpHeader,
    encodedSlashes: top.encoded_slashes as EncodedSlashes,
    client: clientLimits(top.client as Record<string, unknown>),
    gracefulTimeout: top.graceful_timeout as number,
    redirects: top.redirects as RedirectOptions[],
    rewrites: top.rewrites as RewriteOptions[],
    compress: top.compress as Encoding[],
    accessLogFormat: top.access_log_format as AccessLogFormat,
    ...(top.user === undefined ? {} : { user: top.user as string }),
    ...(top.group === undefined ? {} : { group: top.group as string }),
    ...(top.metrics === undefined ? {} : { metrics: top.metrics as EndpointOptions }),
    ...(top.status === undefined ? {} : { status: top.status as EndpointOptions }),
    ...(top.tls === undefined ? {} : { tls: tlsConfig(top.tls as Record<string, unknown>) }),
    ...(top.redirect_https === true ? { redirectHttps: true as const } : {}),
  };
}

/** Every user and group named exists. */
function checkAccounts(config: Config, accounts: Accounts): void {
  const check = (names: { user?: unknown; group?: unknown }, at: KeyPath) => {
    try {
      checkNames(accounts, { user: names.user as string | undefined, group: names.group as string | undefined });
    } catch (err) {
      if (err instanceof AccountError) throw new SchemaError([...at, err.key], err.message);
      throw err;
    }
  };
  check(config, []);
  config.routes.forEach((route, i) => check(route.options, ["routes", i]));
}

function validate(doc: Record<string, unknown>, text: string, gateways: Record<string, GatewaySchema>): Config {
  const common = validateTable(TOP_LEVEL_SCHEMA, doc, [], { handled: ["routes"] });
  checkTrustedProxies(common.trusted_proxies as string[], Array.isArray(doc.trusted_proxies));
  checkEndpoints(common as { metrics?: EndpointOptions; status?: EndpointOptions });
  checkListen(common, Array.isArray(doc.listen));
  for (const key of ["access_log", "error_log"] as const) {
    const problem = destinationProblem(key, common[key] as string);
    if (problem) throw new SchemaError([key], problem);
  }
  const routes = doc.routes;
  if (routes === undefined || (Array.isArray(routes) && routes.length === 0)) {
    throw new SchemaError(["routes"], "at least one [[routes]] table is required");
  }
  if (!Array.isArray(routes) || !routes.every(isTable)) {
    throw new SchemaError(["routes"], `expected [[routes]] tables, found ${describe(routes)}`);
  }
  const trustedProxiesLine = doc.trusted_proxies === undefined ? undefined : locate(text, ["trusted_proxies"]);
  const top = { ...topLevelKeys(common), ...(trustedProxiesLine === undefined ? {} : { trustedProxiesLine }) };
  return { ...top, routes: routes.map((route, i) => validateRoute(route, ["routes", i], text, gateways, top.client)) };
}

/** Every listen entry is an address, and the https:// ones have a [tls] table. */
function checkListen(common: Record<string, unknown>, asArray: boolean): void {
  const listen = common.listen as string[];
  if (listen.length === 0) throw new SchemaError(["listen"], "expected at least one address, found an empty array");
  listen.forEach((entry, i) => {
    const problem = listenProblem(entry);
    if (problem !== undefined) throw new SchemaError(asArray ? ["listen", i] : ["listen"], problem);
  });
  const top = topLevelKeys(common);
  const problem = tlsProblem(top.tls, listen.map(parseListen), top.redirectHttps === true);
  if (problem) throw new SchemaError(problem.key, problem.message);
}

/** Every trusted_proxies entry is an address or a CIDR block. */
function checkTrustedProxies(entries: string[], asArray: boolean): void {
  entries.forEach((entry, i) => {
    const cidr = parseCidr(entry);
    if (typeof cidr === "string") throw new SchemaError(asArray ? ["trusted_proxies", i] : ["trusted_proxies"], cidr);
  });
}

function validateRoute(
  route: Record<string, unknown>,
  at: KeyPath,
  text: string,
  gateways: Record<string, GatewaySchema>,
  client: ClientLimits,
): RouteConfig {
  const gateway = gatewayName(route.gateway, at, Object.keys(gateways));
  const schema = gateways[gateway]!;
  const path = validateValue(PATH_FIELD, route.path ?? PATH_FIELD.default, [...at, "path"]) as string;
  if (path !== "*" && !path.startsWith("/")) {
    throw new SchemaError([...at, "path"], `must start with "/" or be "*", found ${JSON.stringify(path)}`);
  }
  const owner = `gateway ${JSON.stringify(gateway)}`;
  // TOML puts every key after a [[routes]] header into that route.
  const stray = Object.keys(route).find(
    (key) => !Object.hasOwn(schema.fields, key) && Object.hasOwn(TOP_LEVEL_SCHEMA, key),
  );
  if (stray !== undefined) {
    const detail = `unknown key for ${owner}; top-level keys must come before the first [[routes]]`;
    throw new SchemaError([...at, stray], detail);
  }
  const options = validateTable(schema.fields, route, at, { owner, handled: ["path", "gateway"] });
  inheritClientTimeouts(options, route, client);
  const problem = schema.check?.(options);
  if (problem) throw new SchemaError([...at, ...problem.key.split(".")], problem.message);
  // The route exists in the text, so its [[routes]] header (or `routes =`) is found.
  return { path, gateway, line: locate(text, at)!, options };
}

function gatewayName(value: unknown, at: KeyPath, known: string[]): string {
  const list = known.join(", ");
  const key = [...at, "gateway"];
  if (value === undefined) {
    throw new SchemaError(key, `missing; every route needs a gateway, one of: ${list}`, at);
  }
  if (typeof value !== "string") {
    throw new SchemaError(key, `expected a gateway name (one of: ${list}), found ${describe(value)}`);
  }
  if (!known.includes(value)) {
    const hint = suggest(value, known);
    throw new SchemaError(key, `unknown gateway ${JSON.stringify(value)}${hint}; known gateways: ${list}`);
  }
  return value;
}
