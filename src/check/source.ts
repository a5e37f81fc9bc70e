// Which file, and which text, a parsed config came from: a setup problem found
// after parsing (a root that does not exist) is shown at the line of its key,
// as a schema error is. Kept beside the config rather than in it, by its
// routes (which a config copied with other listen addresses shares).

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
