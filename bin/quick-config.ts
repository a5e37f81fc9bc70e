// The config of a quick mode (postern fastcgi, cgi, wasi): routes built from
// the command line and validated as a postern.toml's, a wrong value, or a
// route that cannot be set up, named by the flag the user typed
// (`--backend: not an address: ...`, `DIR: "/srv/x" does not exist`), not by
// the key and line of a config the user never wrote.

import { stringify } from "smol-toml";
import type { SetupProblem } from "../src/check/problems.ts";
import { ConfigError, parseConfig, type Config } from "../src/config.ts";
import { gatewaySchemas } from "../gateways/index.ts";
import { UsageError } from "./args.ts";

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
    return parseConfig(toml, "command line", gatewaySchemas);
  } catch (err) {
    if (!(err instanceof ConfigError) || err.key === undefined) throw err;
    const key = /^routes\[\d+\]\.([A-Za-z0-9_-]+)/.exec(err.key)?.[1];
    const flag = key === undefined ? undefined : typed[key];
    if (flag === undefined) throw err;
    // The message past its "file:line: key: ".
    throw new UsageError(`${flag}: ${err.message.slice(err.message.indexOf(`${err.key}: `) + err.key.length + 2)}`);
  }
}

/** A setup problem of a quick config's route as the flag that set its key says it; undefined for a key no flag set. */
export function flagProblem(typed: Record<string, string | undefined>): (problem: SetupProblem) => string | undefined {
  return ({ route, key, message }) => {
    const flag = route !== undefined && typeof key[0] === "string" ? typed[key[0]] : undefined;
    return flag === undefined ? undefined : `${flag}: ${message}`;
  };
}
