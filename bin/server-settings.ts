// What the flags every serving command takes do: -b/--bind/--listen,
// --graceful-timeout, --access-log and --error-log replace the config's
// `listen`, `graceful_timeout`, `access_log` and `error_log`, validated as
// those keys are, a wrong value named by the flag the user typed; --pid
// names the file the process id goes to.

import { resolve } from "node:path";
import type { SetupProblem } from "../src/check/problems.ts";
import { TOP_LEVEL_SCHEMA, type Config } from "../src/config.ts";
import { SchemaError, validateValue } from "../src/config-schema.ts";
import { destinationProblem, isLogFile } from "../src/logs.ts";
import { listenProblem } from "../src/tls/listen.ts";
import { UsageError } from "./args.ts";
import type { RunOptions } from "./run.ts";
import type { ServerFlags } from "./commands.ts";

export interface ServerSettings {
  /** The flags' values over a config's: applied to the first and to every one a SIGHUP reads. */
  apply(config: Config): Config;
  /** A setup problem of a top-level key a flag set (a log file that cannot be opened), named by that flag. */
  describe(problem: SetupProblem): string | undefined;
  pidFile?: string;
}

export function serverSettings({ values, typed }: ServerFlags): ServerSettings {
  const listen = values.listen === undefined ? undefined : listenFlag(values.listen, typed.listen!);
  const grace = values["graceful-timeout"];
  const gracefulTimeout = grace === undefined ? undefined : (topLevel("graceful_timeout", seconds(grace), typed["graceful-timeout"]!) as number);
  const accessLog = logDestination("access_log", values["access-log"], typed["access-log"]);
  const errorLog = logDestination("error_log", values["error-log"], typed["error-log"]);
  const flagOf: Record<string, string | undefined> = { access_log: typed["access-log"], error_log: typed["error-log"] };
  return {
    apply: (config) => ({
      ...config,
      ...(listen === undefined ? {} : { listen }),
      ...(gracefulTimeout === undefined ? {} : { gracefulTimeout }),
      ...(accessLog === undefined ? {} : { accessLog }),
      ...(errorLog === undefined ? {} : { errorLog }),
    }),
    describe: ({ route, key, message }) => {
      const flag = route === undefined && typeof key[0] === "string" ? flagOf[key[0]] : undefined;
      return flag === undefined ? undefined : `${flag}: ${message}`;
    },
    ...(values.pid === undefined ? {} : { pidFile: pidFile(values.pid, typed.pid!) }),
  };
}

/**
 * run()'s options: the pid file, the flags' names for the problems of the
 * keys they set (and `route`'s for a route's keys, in the quick modes), and
 * `reload` where a SIGHUP reads the command's file again.
 */
export function runOptions(settings: ServerSettings, { reload, route }: { reload?: () => Config; route?: RunOptions["describe"] } = {}): RunOptions {
  return {
    ...(reload ? { reload } : {}),
    ...(settings.pidFile === undefined ? {} : { pidFile: settings.pidFile }),
    describe: (problem) => settings.describe(problem) ?? route?.(problem),
  };
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

/** The listen addresses of -b/--listen, each an address (`https://` ones served with the config's [tls]). */
function listenFlag(values: string[], flag: string): string[] {
  const listen = topLevel("listen", values, flag) as string[];
  for (const text of listen) {
    const problem = listenProblem(text);
    if (problem !== undefined) throw new UsageError(`${flag}: ${problem}`);
  }
  return listen;
}

/** "-", "off" (access_log only) or a file, taken from the working directory as a command line's paths are. */
function logDestination(key: "access_log" | "error_log", value: string | undefined, flag: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const destination = topLevel(key, value, flag!) as string;
  const problem = destinationProblem(key, destination);
  if (problem !== undefined) throw new UsageError(`${flag}: ${problem}`);
  return isLogFile(destination) ? resolve(destination) : destination;
}

/** A file, from the working directory; "" would name the directory itself, found only once postern listens. */
function pidFile(value: string, flag: string): string {
  if (value === "") throw new UsageError(`${flag}: expected a file path, found ""`);
  return resolve(value);
}

/** Seconds as Gunicorn takes them (`30`, `0.5`), or a postern duration (`"500ms"`). */
function seconds(value: string): number | string {
  return /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}
