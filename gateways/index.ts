// The gateway registry (name -> factory and option schema) and createApp: a
// hono app built from a parsed postern.toml.

import { Hono } from "hono";
import { accessLine } from "../src/access-log.ts";
import { BufferBudget } from "../src/buffer/budget.ts";
import type { BufferingOptions } from "../src/buffer/options.ts";
import { allSetUp, SetupError } from "../src/check/problems.ts";
import { configSource } from "../src/check/source.ts";
import { DEFAULT_MAX_BUFFERED_TOTAL, formatKey, PATH_FIELD, TOP_LEVEL_SCHEMA, type Config, type GatewaySchema } from "../src/config.ts";
import type { ReferenceSchemas } from "../src/config-reference.ts";
import { locate } from "../src/config-locate.ts";
import { renamedKeys } from "../src/config-schema.ts";
import { errorResponse } from "../src/errors.ts";
import { openLogs } from "../src/logs.ts";
import type { EncodedSlashes } from "../src/paths.ts";
import { RequestObserver } from "../src/request-record.ts";
import type { Runtime } from "../src/runtime.ts";
import { createCgi } from "./cgi/index.ts";
import { cgiSchema, type CgiInput } from "./cgi/options.ts";
import { createFastCgi } from "./fastcgi/index.ts";
import { fastcgiSchema, type FastCgiInput } from "./fastcgi/options.ts";
import { buffered, gatewayOptions, type GatewayHandler, type Router } from "./handler.ts";
import { onNormalPathOnly, routingPath } from "./request-path.ts";
import { observeRequests, recordingRoute } from "./request-observation.ts";
import { urlRules } from "./rewrites.ts";
import { routeFields, routePathKeys, withRouteChecks } from "./route/fields.ts";
import { basicAuthMiddleware, type BasicAuthInput } from "./route/auth/middleware.ts";
import { withRouteModules } from "./route/index.ts";
import { Setups } from "./setups.ts";
import { createStatic } from "./static/index.ts";
import { observability } from "./status/index.ts";
import { staticSchema, type StaticInput } from "./static/options.ts";
import { describeScripts, scriptFilesOf, sharingRoot, type ScriptFiles } from "./static/scripts.ts";
import { trustedProxies, trustedProxiesWarnings } from "./trusted-proxies.ts";
import { redirectHttps } from "./redirect-https.ts";
import { createProxy } from "./proxy/index.ts";
import { proxySchema, type ProxyInput } from "./proxy/options.ts";
import { createRespond } from "./respond/index.ts";
import { respondSchema } from "./respond/options.ts";
import { createScgi } from "./scgi/index.ts";
import { scgiSchema, type ScgiInput } from "./scgi/options.ts";
import { createUwsgi } from "./uwsgi/index.ts";
import { uwsgiSchema, type UwsgiInput } from "./uwsgi/options.ts";
import { createWasi } from "./wasi/index.ts";
import { wasiSchema, type WasiInput } from "./wasi/options.ts";
import { createWsgi } from "./wsgi/index.ts";
import { wsgiSchema, type WsgiInput } from "./wsgi/options.ts";

export interface GatewayEntry {
  schema: GatewaySchema;
  /**
   * Builds the handler from options already validated against `schema`
   * (defaults filled, units converted). `app` is the app the route is part
   * of, where there is one.
   */
  create(runtime: Runtime, options: never, name: string, app?: AppContext): GatewayHandler;
  /** Option keys holding filesystem paths (or tables of them): relative ones are taken from the config file's directory. */
  pathKeys: readonly string[];
  /**
   * Option keys naming a program: a name without "/" is looked up on PATH
   * when it starts, one with a "/" is a path, a relative one taken from the
   * config file's directory as pathKeys are.
   */
  programKeys?: readonly string[];
  /** Of those, the keys that may instead name a module the app registered (registerWasmModules). */
  moduleKeys?: readonly string[];
  /** Served behind the buffering front (gateways/handler.ts `buffered`); its schema has src/buffer/options.ts's keys. */
  buffered?: true;
}

/** What createApp tells a route of the app it is part of. */
export interface AppContext extends Router {
  /** The app's script routes: a static route never serves a file they would run (static/scripts.ts). */
  scripts: readonly ScriptFiles[];
}

export const gateways: Record<string, GatewayEntry> = {
  cgi: { schema: cgiSchema, create: createCgi, pathKeys: ["root"], buffered: true },
  fastcgi: { schema: fastcgiSchema, create: createFastCgi, pathKeys: ["root"], buffered: true },
  static: { schema: staticSchema, create: createStatic, pathKeys: ["root"] },
  wasi: { schema: wasiSchema, create: createWasi, pathKeys: ["module", "root", "volumes"], moduleKeys: ["module"], buffered: true },
  uwsgi: { schema: uwsgiSchema, create: createUwsgi, pathKeys: [], buffered: true },
  scgi: { schema: scgiSchema, create: createScgi, pathKeys: [], buffered: true },
  wsgi: { schema: wsgiSchema, create: createWsgi, pathKeys: ["chdir", "pythonpath"], programKeys: ["python"], buffered: true },
  proxy: { schema: proxySchema, create: createProxy, pathKeys: [], buffered: true },
  respond: { schema: respondSchema, create: createRespond, pathKeys: [] },
};

/**
 * A gateway's handler from options written by hand (`fastcgi({ ... })`):
 * validated with the same schema, and the same messages, as postern.toml.
 */
export function createGateway(
  gateway: string,
  runtime: Runtime,
  input: Record<string, unknown>,
  name = gateway,
  budget = new BufferBudget(DEFAULT_MAX_BUFFERED_TOTAL),
): GatewayHandler {
  const entry = gateways[gateway];
  if (!entry) throw new Error(`unknown gateway ${JSON.stringify(gateway)}`);
  const options = gatewayOptions(gateway, gatewaySchemas[gateway]!, input);
  // As `postern check` warns of them in postern.toml (renamedWarnings): code in plain JavaScript has no editor to strike the old name through.
  for (const { old, key } of renamedKeys(options)) runtime.logError(`${name}: ${old}: ${renamedMessage(key)}`);
  return build(entry, runtime, options, name, budget);
}

function build(
  entry: GatewayEntry,
  runtime: Runtime,
  options: Record<string, unknown>,
  name: string,
  budget: BufferBudget,
  app?: AppContext,
  slashes?: EncodedSlashes,
): GatewayHandler {
  type Create = (runtime: Runtime, options: Record<string, unknown>, name: string, app?: AppContext) => GatewayHandler;
  const handler = (entry.create as Create)(runtime, options, name, app);
  const served = onNormalPathOnly(entry.buffered ? buffered(handler, options as unknown as BufferingOptions, runtime, budget, name) : handler, slashes);
  const wrapped = withRouteModules(served, options, { runtime, name });
  // What the route holds, read by the metrics, whatever modules wrap it.
  return recordingRoute(handler.stats && !wrapped.stats ? Object.assign(wrapped, { stats: handler.stats }) : wrapped, name);
}

export { trustedProxies };
export type { GatewayHandler };
export type { BasicAuthInput, CgiInput, FastCgiInput, ProxyInput, ScgiInput, StaticInput, UwsgiInput, WasiInput, WsgiInput };

export const gatewaySchemas: Record<string, GatewaySchema> = Object.fromEntries(
  Object.entries(gateways).map(([name, entry]) => [name, withRouteChecks(entry.schema)]),
);

/** Every schema of postern.toml, as its reference (docs/config.md, the JSON Schema) is made from them. */
export const configSchemas: ReferenceSchemas = { top: TOP_LEVEL_SCHEMA, path: PATH_FIELD, route: routeFields, gateways: gatewaySchemas };

export interface App {
  app: Hono;
  /** Settles when every route is set up; rejects with a SetupError of every route's problems, or the first other error. */
  ready: Promise<void>;
  /** Closes every route: pools, spawned backends. */
  close(): Promise<void>;
  /** One worker more or fewer on every route that runs workers (wsgi), never fewer than one: SIGTTIN and SIGTTOU. */
  scale(delta: 1 | -1): void;
  /** Calls `listener` with each request's record (src/request-record.ts) once its answer is over; returns the unsubscribe function. */
  onRequestDone: RequestObserver["onRequestDone"];
}

/** Builds the app for a config; `baseDir` is the directory relative paths in it are taken from. */
export function createApp(config: Config, platform: Runtime, baseDir: string): App {
  // Every route logs where access_log and error_log say.
  const logs = openLogs(platform, config, (path) => resolvePath(baseDir, path));
  // [metrics] and [status]: the error lines logged are kept for the page, the routes read when asked.
  const observed = observability(config, logs.runtime);
  const runtime = observed?.runtime ?? logs.runtime;
  // Routes match the normalised path (src/paths.ts), whoever serves the app.
  const app = new Hono({ getPath: routingPath(config.encodedSlashes) });
  // First: every route, and the access log, see the client behind a trusted proxy.
  if (config.trustedProxies.length > 0) app.use(trustedProxies(config.trustedProxies, { realIpHeader: config.realIpHeader }));
  // Second: each request's record, for the access log and the observer's listeners.
  const observer = new RequestObserver();
  const line = accessLine(config.accessLogFormat);
  app.use(observeRequests(runtime, observer, config.accessLog === "off" ? undefined : (record) => runtime.logAccess(line(record))));
  // Third: plain HTTP sent on to the HTTPS listener (redirect_https).
  const toHttps = config.redirectHttps ? redirectHttps(config.listen) : undefined;
  if (toHttps) app.use(toHttps);
  // Fourth: [metrics] and [status], counting every finished request.
  if (observed) {
    observer.onRequestDone((record) => observed.requests.observe(record));
    app.use(observed.endpoints);
  }
  // Fifth: [[redirects]], then [[rewrites]]: a rewritten request is routed again, on its new path, by the routes alone.
  const routesAlone = new Hono({ getPath: routingPath(config.encodedSlashes) });
  const rules = urlRules(config, runtime, { fetch: async (request, env) => routesAlone.fetch(request, env) });
  if (rules) app.use(rules);
  const handlers: GatewayHandler[] = [];
  const routes = resolvedRoutes(config, runtime, baseDir);
  const context: AppContext = {
    fetch: async (request, env) => app.fetch(request, env),
    scripts: scriptRoutes(routes),
  };
  const budget = new BufferBudget(config.maxBufferedTotal);
  try {
    for (const route of routes) {
      const handler = build(gateways[route.gateway]!, runtime, route.options, route.name, budget, context, config.encodedSlashes);
      handlers.push(handler);
      observed?.routes.push({ name: route.name, gateway: route.gateway, path: route.path, handler });
      for (const router of [app, routesAlone]) router.all(route.path, handler);
    }
  } catch (err) {
    // The app never starts: whether its log files could be opened no longer matters.
    logs.ready.catch(() => undefined);
    void Promise.all(handlers.map((h) => h.close()))
      .then(logs.close)
      .catch(() => undefined);
    // The route that failed is the one after those built.
    throw err instanceof SetupError ? err.inRoute(handlers.length) : err;
  }
  for (const router of [app, routesAlone]) {
    router.notFound(() => errorResponse(404));
    router.onError((err) => {
      runtime.logError(`unhandled: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return errorResponse(500);
    });
  }
  const ready = Promise.all([logs.ready, allSetUp(handlers.map((h) => h.ready))]).then(() => undefined);
  // Not awaited by an app served some other way (a Worker's): its failure must not end the process as an unhandled rejection.
  ready.catch(() => undefined);
  return {
    app,
    ready,
    close: async () => {
      await Promise.all(handlers.map((h) => h.close()));
      // Last: what the routes log as they stop is written.
      await logs.close();
    },
    scale: (delta) => {
      for (const handler of handlers) handler.scale?.(delta);
    },
    onRequestDone: (listener) => observer.onRequestDone(listener),
  };
}

/** A route of a config, named as messages name it, its paths taken from `baseDir`. */
export interface ResolvedRoute {
  name: string;
  path: string;
  gateway: string;
  line: number;
  options: Record<string, unknown>;
}

export function resolvedRoutes(config: Config, runtime: Runtime, baseDir: string): ResolvedRoute[] {
  return config.routes.map((route, i) => {
    const entry = gateways[route.gateway]!;
    const options = { ...route.options };
    // A route that starts processes and names nobody to run them as takes the top level's user and group.
    if ("user" in entry.schema.fields && options.user === undefined && options.group === undefined) {
      if (config.user !== undefined) options.user = config.user;
      if (config.group !== undefined) options.group = config.group;
    }
    // A route that says nothing of compression takes the top level's.
    if (options.compress === undefined) options.compress = config.compress;
    // Without a file system (workerd) a path names nothing on disk (a bundled module, a backend's root): kept as written.
    for (const key of runtime.fs ? entry.pathKeys : []) {
      const value = options[key];
      // A module the app registered (registerWasmModules) is named, not found on disk.
      if (typeof value === "string" && entry.moduleKeys?.includes(key) && runtime.wasmModules?.has(value)) continue;
      if (typeof value === "string") options[key] = resolvePath(baseDir, value);
      // A list of paths (wsgi pythonpath).
      else if (Array.isArray(value)) options[key] = value.map((v) => resolvePath(baseDir, v as string));
      // A table of paths (wasi volumes: guest path -> host directory).
      else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        options[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolvePath(baseDir, v as string)]));
      }
    }
    // A path in a route module's table (auth.htpasswd).
    for (const [table, key] of runtime.fs ? routePathKeys : []) {
      const value = options[table] as Record<string, unknown> | undefined;
      if (typeof value?.[key] === "string") options[table] = { ...value, [key]: resolvePath(baseDir, value[key]) };
    }
    for (const key of runtime.fs ? (entry.programKeys ?? []) : []) {
      const value = options[key];
      if (typeof value === "string" && value.includes("/")) options[key] = resolvePath(baseDir, value);
    }
    return { name: `routes[${i}] (${route.gateway} ${route.path})`, path: route.path, gateway: route.gateway, line: route.line, options };
  });
}

function scriptRoutes(routes: ResolvedRoute[]): ScriptFiles[] {
  return routes.flatMap((route) => scriptFilesOf(route.gateway, route.options, route.name) ?? []);
}

/** A valid config's weak point, at the line of the key or route it concerns. */
export interface ConfigWarning {
  line: number;
  message: string;
}

/**
 * What `postern check` warns about in a valid config: a trusted_proxies
 * block that holds every address of a family (any client could set its own
 * address); each static route whose root shares files with a script route's
 * (by real path). Those files are never served by the static route; the
 * warning says so, since a file meant to be downloaded would not be either;
 * a key written by its old name (fastcgi's `env`, now `params`).
 */
export async function configWarnings(config: Config, runtime: Runtime, baseDir: string): Promise<ConfigWarning[]> {
  const warnings: ConfigWarning[] = [...trustedProxiesWarnings(config.trustedProxies, config.trustedProxiesLine ?? 0), ...renamedWarnings(config)];
  const fs = runtime.fs;
  if (!fs) return warnings;
  const routes = resolvedRoutes(config, runtime, baseDir);
  const scripts = scriptRoutes(routes);
  for (const [i, route] of routes.entries()) {
    if (route.gateway !== "static") continue;
    // A root that does not exist is an error at startup, not a warning.
    const real = await fs.realpath(route.options.root as string);
    if (real === null) continue;
    const sharing = await sharingRoot(fs, real, scripts);
    if (sharing.some((script) => runsWhatIsHandedOn(routes, i, script.route))) continue;
    for (const script of sharing) {
      const message =
        `${route.name} shares files with ${script.route} (root ${script.root}): ` +
        `it never serves what that route runs (${describeScripts(script)}); such requests go on to the next route`;
      warnings.push({ line: route.line, message });
    }
  }
  return warnings;
}

/**
 * Whether the script route named `script` comes after static route `i` on
 * the same path (or on every path): then what the static route hands on runs
 * there, as meant (the layout of a PHP site, files first: docs/mounts.md),
 * and its sharing the root is no mistake to warn of.
 */
function runsWhatIsHandedOn(routes: ResolvedRoute[], i: number, script: string): boolean {
  const after = routes.findIndex((route) => route.name === script);
  return after > i && (routes[after]!.path === routes[i]!.path || routes[after]!.path === "*");
}

/** Each route key written by its old name, at its own line: it still works, and the warning gives the new one. */
function renamedWarnings(config: Config): ConfigWarning[] {
  const text = configSource(config)?.text;
  return config.routes.flatMap((route, i) =>
    renamedKeys(route.options).map(({ old, key }) => ({
      line: (text === undefined ? undefined : locate(text, ["routes", i, old])) ?? route.line,
      message: `${formatKey(["routes", i, old])}: ${renamedMessage(key)}`,
    })),
  );
}

/** What a warning says of a key written by its old name, after naming it. */
function renamedMessage(key: string): string {
  return `the old name of \`${key}\`, which it still sets; write \`${key}\``;
}

/** `base` (an absolute directory) + `path` unless `path` is absolute; both POSIX paths. */
export function resolvePath(base: string, path: string): string {
  if (path.startsWith("/")) return path;
  // "/srv/app/" and "/srv/app" are the same base; "." segments name nothing; ".." stops at the root.
  const parts: string[] = [];
  for (const segment of [...base.split("/"), ...path.split("/")]) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") parts.pop();
    else parts.push(segment);
  }
  return `/${parts.join("/")}`;
}

/**
 * The gateways as route handlers bound to one runtime: what each runtime's
 * entry point (runtimes/<name>/index.ts) exports, so that
 * `import { fastcgi } from "postern"` is the same API everywhere. Options are
 * typed from each gateway's schema and checked again when called.
 */
export function bindGateways(runtime: Runtime) {
  // One cap on buffered bytes for the handlers made here (max_buffered_total's default).
  const budget = new BufferBudget(DEFAULT_MAX_BUFFERED_TOTAL);
  const setups = new Setups();
  const make = (gateway: string, options: object): GatewayHandler =>
    setups.add(createGateway(gateway, runtime, options as Record<string, unknown>, gateway, budget));
  return {
    /** A FastCGI route handler: `app.all("*", fastcgi({ backend: "127.0.0.1:9000", root: "/var/www/html" }))`. */
    fastcgi: (options: FastCgiInput) => make("fastcgi", options),
    /** A CGI route handler: `app.all("/cgi-bin/*", cgi({ root: ".", interpreters: { ".pl": "perl" } }))`. */
    cgi: (options: CgiInput) => make("cgi", options),
    /** A WASI route handler: `app.all("/app/*", wasi({ module: "./app.wasm" }))`. */
    wasi: (options: WasiInput) => make("wasi", options),
    /** A WSGI route handler, its workers started and supervised: `app.all("/py/*", wsgi({ app: "myapp:app" }))` (mounted at /py). */
    wsgi: (options: WsgiInput) => make("wsgi", options),
    /** A uwsgi route handler, to app servers such as uWSGI: `app.all("/app/*", uwsgi({ backend: ["127.0.0.1:3031"] }))`. */
    uwsgi: (options: UwsgiInput) => make("uwsgi", options),
    /** An SCGI route handler: `app.all("/app/*", scgi({ backend: ["127.0.0.1:4000"] }))`. */
    scgi: (options: ScgiInput) => make("scgi", options),
    /** HTTP Basic authentication against an htpasswd file, before any handler: `app.use("/admin/*", basicAuth({ htpasswd: "./admin.htpasswd" }))`. */
    basicAuth: (options: BasicAuthInput) => setups.add(basicAuthMiddleware(runtime, options)),
    /** An HTTP reverse proxy route handler: `app.all("/api/*", proxy({ backend: ["http://127.0.0.1:3000"] }))`. */
    proxy: (options: ProxyInput) => make("proxy", options),
    /** A static files route handler: `app.get("*", staticFiles({ root: "./public" }))`. */
    staticFiles: (options: StaticInput) => setups.add(createGateway("static", runtime, options)),
    /** The app a postern.toml describes. */
    createApp: (config: Config, baseDir: string) => setups.add(createApp(config, runtime, baseDir)),
    /** What `postern check` warns about in a valid config (see configWarnings). */
    configWarnings: (config: Config, baseDir: string) => configWarnings(config, runtime, baseDir),
    /**
     * Names WebAssembly modules the app's bundle imported, for `wasi` routes'
     * `module` to name (where modules cannot be compiled from bytes, workerd,
     * that is the only way): `registerWasmModules({ "hello.wasm": hello })`.
     */
    registerWasmModules(bundled: Record<string, WebAssembly.Module>): void {
      if (!runtime.wasmModules) throw new Error(`the ${runtime.name} runtime takes no bundled modules`);
      for (const [name, module] of Object.entries(bundled)) runtime.wasmModules.set(name, module);
    },
    /**
     * Settles when every handler made here, and every app's routes, not yet
     * closed, is set up; rejects with a setup error, one `served` routes to
     * first (gateways/setups.ts says which). serve() waits for it before it
     * binds anything.
     */
    gatewaysReady: (served?: unknown) => setups.ready(served),
  };
}
