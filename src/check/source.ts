// Which file, and which text, a parsed config came from: a setup problem found
// after parsing (a root that does not exist) is shown at the line of its key,
// as a schema error is; and, for a config built from the command line (the
// quick modes), what the user typed for each route key, which names the
// problem instead. Kept beside the config rather than in it, by its routes
// (which a config copied with other listen addresses shares).

import type { Config } from "../config.ts";

export interface ConfigSource {
  file: string;
  text: string;
  /** The array of tables the routes are written as: "routes" (postern.toml), "module" (WAGI's modules.toml). */
  routeTable?: string;
}

const sources = new WeakMap<object, ConfigSource>();

export function rememberSource(config: Config, source: ConfigSource): void {
  sources.set(config.routes, source);
}

export function configSource(config: Config): ConfigSource | undefined {
  return sources.get(config.routes);
}

const typedKeys = new WeakMap<object, Record<string, string | undefined>>();

/** `typed`: for each route key, the flag or positional ("--root", "DIR") that set it. */
export function rememberTypedKeys(config: Config, typed: Record<string, string | undefined>): void {
  typedKeys.set(config.routes, typed);
}

export function typedKeysOf(config: Config): Record<string, string | undefined> | undefined {
  return typedKeys.get(config.routes);
}
