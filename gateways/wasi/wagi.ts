// WAGI's modules.toml (github.com/deislabs/wagi, docs/configuring_and_running.md)
// read as a postern config: each [[module]] becomes a `wasi` route, so WAGI
// users can switch without rewriting their config. What postern does not do
// (outbound HTTP, the query string as arguments) is refused with the key and
// the line, never silently dropped.

import { parse, TomlError } from "smol-toml";
import { ConfigError, formatKey, TOP_LEVEL_SCHEMA, topLevelKeys, type Config, type RouteConfig } from "../../src/config.ts";
import { rememberSource } from "../../src/check/source.ts";
import { locate } from "../../src/config-locate.ts";
import { isTable, SchemaError, validateTable, type GatewaySchema, type Schema } from "../../src/config-schema.ts";

const MODULE_SCHEMA: Schema = {
  route: { type: "string", required: true, doc: 'the path the module answers; "/x/..." answers everything under /x' },
  module: { type: "string", required: true, doc: "the .wasm file, relative to the modules.toml" },
  entrypoint: { type: "string", doc: "the exported function to call" },
  environment: { type: "env", default: {}, doc: "variables for the module" },
  argv: { type: "string", doc: "WAGI's argument template" },
  volumes: { type: "env", default: {}, doc: "read-only directories for the module, guest path -> host directory" },
  allowed_hosts: { type: "string[]", doc: "hosts the module may call (not supported)" },
  http_max_concurrency: { type: "integer", min: 1, max: 256, doc: "requests at once" },
};

/** The postern config a WAGI modules.toml describes. */
export function wagiConfig(text: string, file: string, gateways: Record<string, GatewaySchema>): Config {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) throw new ConfigError(file, err.line, undefined, err.message.split("\n")[0]!);
    throw err;
  }
  try {
    const config = translate(doc, text, gateways);
    // Its routes' setup problems are shown at their [[module]]'s keys (module, volumes, entrypoint: the same names).
    rememberSource(config, { file, text, routeTable: "module" });
    return config;
  } catch (error) {
    if (!(error instanceof SchemaError)) throw error;
    throw new ConfigError(file, locate(text, error.at), formatKey(error.path), error.message);
  }
}

function translate(doc: Record<string, unknown>, text: string, gateways: Record<string, GatewaySchema>): Config {
  for (const key of Object.keys(doc)) {
    // default_host names the host WAGI answers for; postern answers any.
    if (key !== "module" && key !== "default_host") throw new SchemaError([key], "unknown key in a WAGI modules.toml");
  }
  const modules = doc.module;
  if (!Array.isArray(modules) || modules.length === 0) throw new SchemaError(["module"], "needs at least one [[module]]");
  const routes: RouteConfig[] = modules.map((entry, i) => {
    if (!isTable(entry)) throw new SchemaError(["module", i], "must be a table");
    const module = validateTable(MODULE_SCHEMA, entry, ["module", i], { owner: "WAGI [[module]]" });
    if (module.allowed_hosts !== undefined) throw new SchemaError(["module", i, "allowed_hosts"], "postern gives modules no outbound HTTP");
    const options: Record<string, unknown> = { module: module.module, env: module.environment, volumes: module.volumes };
    if (module.entrypoint !== undefined) options.entrypoint = module.entrypoint;
    if (module.http_max_concurrency !== undefined) options.threads = module.http_max_concurrency;
    if (module.argv !== undefined) {
      const argv = argvOf(module.argv as string);
      if (typeof argv === "string") throw new SchemaError(["module", i, "argv"], argv);
      if (argv) options.argv = argv;
    }
    return {
      path: routePath(module.route as string),
      gateway: "wasi",
      line: locate(text, ["module", i]) ?? 0,
      options: validateTable(gateways.wasi!.fields, options, ["module", i], { owner: 'gateway "wasi"' }),
    };
  });
  const top = validateTable(TOP_LEVEL_SCHEMA, {}, [], { owner: "postern" });
  return { ...topLevelKeys(top), routes };
}

/** WAGI routes: "/x/..." is /x and everything under it; anything else is exact. */
function routePath(route: string): string {
  if (route === "/...") return "*";
  return route.endsWith("/...") ? `${route.slice(0, -4)}/*` : route;
}

/**
 * The static arguments of a WAGI argv template; undefined for postern's
 * default (the script name), or why it cannot be taken.
 */
function argvOf(template: string): string[] | undefined | string {
  const words = template.trim().split(/\s+/);
  if (words.includes("${ARGS}")) {
    return "${ARGS} passes the query string as arguments, which postern never does (CVE-2012-1823): leave it out";
  }
  if (words.length === 1 && words[0] === "${SCRIPT_NAME}") return undefined;
  if (words.some((word) => word.includes("${"))) return "only plain words, or ${SCRIPT_NAME} alone, are supported";
  return words;
}
