// `postern check`: everything `postern serve` would refuse in a config that
// parsed, found without opening a socket or starting a long-lived process
// (as `nginx -t` and `caddy validate` do). Each route's setup is checked by
// the same function its gateway runs when it starts, so the two cannot
// differ; a wsgi route's app is then imported once (wsgi-import.ts). Every
// problem is reported, not only the first.

import { Problems, SetupError, type SetupProblem } from "../../src/check/problems.ts";
import type { Config } from "../../src/config.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { CgiOptions } from "../cgi/options.ts";
import type { FastCgiOptions } from "../fastcgi/options.ts";
import { resolvedRoutes } from "../index.ts";
import { checkRouteModules } from "../route/index.ts";
import type { StaticOptions } from "../static/options.ts";
import type { StreamOptions } from "../stream-gateway.ts";
import { interpreters } from "../wasi/interpreter.ts";
import type { WasiOptions } from "../wasi/options.ts";
import type { WsgiOptions } from "../wsgi/options.ts";
import { cgiSetup } from "./cgi.ts";
import { backendSetup } from "./common.ts";
import { fastcgiSetup } from "./fastcgi.ts";
import { checkListen } from "./listen.ts";
import { checkLogFiles } from "./logs.ts";
import { staticRoot } from "./static.ts";
import { wasiSetup } from "./wasi.ts";
import { checkWsgiImport } from "./wsgi-import.ts";
import { wsgiSetup } from "./wsgi.ts";

type RouteCheck = (runtime: Runtime, options: Record<string, unknown>, name: string) => Promise<unknown>;

/** A uwsgi or scgi route's setup: its backends' addresses (stream-gateway.ts). */
const streamCheck: RouteCheck = async (runtime, o, name) => backendSetup(runtime, (o as unknown as StreamOptions).backend, name);

/** What each gateway's setup checks, by gateway name. */
const routeChecks: Record<string, RouteCheck> = {
  cgi: (runtime, o, name) => cgiSetup(runtime, o as unknown as CgiOptions, name),
  fastcgi: (runtime, o, name) => fastcgiSetup(runtime, o as unknown as FastCgiOptions, name),
  static: (runtime, o, name) => staticRoot(runtime.fs!, o as unknown as StaticOptions, name),
  wasi: (runtime, o, name) => {
    const options = o as unknown as WasiOptions;
    return wasiSetup(runtime, options, options.interpreter === undefined ? undefined : interpreters[options.interpreter], name);
  },
  wsgi: async (runtime, o, name) => {
    const options = o as unknown as WsgiOptions;
    await checkWsgiImport(runtime, options, await wsgiSetup(runtime, options, name), name);
  },
  uwsgi: streamCheck,
  scgi: streamCheck,
};

/**
 * Every problem `postern serve` would stop at in `config`, whose relative
 * paths are taken from `baseDir`, on a runtime with files and processes (the
 * command line's).
 */
export async function checkConfig(config: Config, runtime: Runtime, baseDir: string): Promise<SetupProblem[]> {
  const top = new Problems("postern");
  await checkListen(top, runtime.fs!, config.listen);
  await checkLogFiles(top, runtime.fs!, config, baseDir);
  const found = [...(await problemsOf(async () => top.done()))];
  for (const [i, route] of resolvedRoutes(config, runtime, baseDir).entries()) {
    const check = routeChecks[route.gateway]!;
    found.push(...(await problemsOf(() => check(runtime, route.options, route.name), i)));
    found.push(...(await problemsOf(() => checkRouteModules(route.options, { runtime, name: route.name }), i)));
  }
  return found;
}

/** The problems of the SetupError `work` throws (at the config's route `route`), if any. */
async function problemsOf(work: () => Promise<unknown>, route?: number): Promise<readonly SetupProblem[]> {
  try {
    await work();
    return [];
  } catch (err) {
    if (!(err instanceof SetupError)) throw err;
    return route === undefined ? err.problems : err.inRoute(route).problems;
  }
}
