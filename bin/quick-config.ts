// The config of a quick mode (postern fastcgi, cgi, wasi): routes built from
// the command line and validated as a postern.toml's, a wrong value named by
// the flag the user typed (`--backend: not an address: ...`), not by the line
// of a config the user never wrote.

import { stringify } from "smol-toml";
import { ConfigError, parseConfig, type Config } from "../src/config.ts";
import { gatewaySchemas } from "../gateways/index.ts";
import { UsageError } from "./args.ts";
import { rememberTypedKeys } from "../src/check/source.ts";

export interface QuickRoute {
  gateway: string;
  options: Record<string, unknown>;
}

/**
 * Routes at `*`, in order; `typed` says, for each option key, what the user
 * typed to set it: a flag ("--backend", "-e") or a positional ("DIR").
 */
export function quickConfig(routes: QuickRoute[], typed: Record<string, string | undefined>): Config {
  const toml = stringify({ routes: routes.map(({ gateway, options }) => ({ gateway, ...options })) });
  try {
    const config = parseConfig(toml, "command line", gatewaySchemas);
    rememberTypedKeys(config, typed);
    return config;
  } catch (err) {
    if (!(err instanceof ConfigError) || err.key === undefined) throw err;
    const key = /^routes\[\d+\]\.([A-Za-z0-9_-]+)/.exec(err.key)?.[1];
    const flag = key === undefined ? undefined : typed[key];
    if (flag === undefined) throw err;
    // The message past its "file:line: key: ".
    throw new UsageError(`${flag}: ${err.message.slice(err.message.indexOf(`${err.key}: `) + err.key.length + 2)}`);
  }
}
