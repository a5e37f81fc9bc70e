// What the flags every serving command takes do: -b/--bind/--listen and
// --graceful-timeout replace the config's `listen` and `graceful_timeout`,
// validated as those keys are, a wrong value named by the flag the user
// typed; --pid names the file the process id goes to.

import { resolve } from "node:path";
import { TOP_LEVEL_SCHEMA, type Config } from "../src/config.ts";
import { SchemaError, validateValue } from "../src/config-schema.ts";
import { UsageError } from "./args.ts";
import type { RunOptions } from "./run.ts";
import type { ServerFlags } from "./commands.ts";

export interface ServerSettings {
  /** The flags' values over a config's: applied to the first and to every one a SIGHUP reads. */
  apply(config: Config): Config;
  pidFile?: string;
}

export function serverSettings({ values, typed }: ServerFlags): ServerSettings {
  const listen = values.listen === undefined ? undefined : (topLevel("listen", values.listen, typed.listen!) as string[]);
  const grace = values["graceful-timeout"];
  const gracefulTimeout = grace === undefined ? undefined : (topLevel("graceful_timeout", seconds(grace), typed["graceful-timeout"]!) as number);
  return {
    apply: (config) => ({
      ...config,
      ...(listen === undefined ? {} : { listen }),
      ...(gracefulTimeout === undefined ? {} : { gracefulTimeout }),
    }),
    ...(values.pid === undefined ? {} : { pidFile: resolve(values.pid) }),
  };
}

/** The run options of a command that reads no file again: no reload, the pid file. */
export function runOptions(settings: ServerSettings, reload?: () => Config): RunOptions {
  return { ...(reload ? { reload } : {}), ...(settings.pidFile === undefined ? {} : { pidFile: settings.pidFile }) };
}

/** A top-level key's value, validated by its schema; wrong, it is named by `flag`. */
function topLevel(key: string, value: unknown, flag: string): unknown {
  try {
    return validateValue(TOP_LEVEL_SCHEMA[key]!, value, [key]);
  } catch (err) {
    if (err instanceof SchemaError) throw new UsageError(`${flag}: ${err.message}`);
    throw err;
  }
}

/** Seconds as Gunicorn takes them (`30`, `0.5`), or a postern duration (`"500ms"`). */
function seconds(value: string): number | string {
  return /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}
