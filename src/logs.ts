// Where postern's two logs go, as the `access_log` and `error_log` keys say:
// "-" is the runtime's stdout (requests) or stderr (errors), "off" nothing
// (requests only), anything else a file appended to (src/log-file.ts). Routes
// log through the Runtime they are given: this makes the one whose logAccess
// and logError write where the config says.

import { logTime } from "./access-log.ts";
import { LogFile } from "./log-file.ts";
import type { Runtime } from "./runtime.ts";

/** Where the logs go: "-", "off" (access_log only) or a file's path. */
export interface LogDestinations {
  accessLog: string;
  errorLog: string;
}

/** What is wrong with a destination as written in the config, or undefined. */
export function destinationProblem(key: "access_log" | "error_log", value: string): string | undefined {
  if (value === "") return `expected ${key === "access_log" ? '"-" (stdout), "off"' : '"-" (stderr)'} or a file path, found ""`;
  // nginx's `error_log off` writes to a file named "off": here it says so instead.
  if (key === "error_log" && value === "off") return 'errors cannot be turned off: give "-" (stderr) or a file path';
  return undefined;
}

/** Whether a destination is a file's path: neither "-" nor "off". */
export function isLogFile(destination: string): boolean {
  return destination !== "-" && destination !== "off";
}

export interface Logs {
  /** `runtime`, its logAccess and logError writing where the destinations say. */
  runtime: Runtime;
  /** Settles once every log file is open; rejects with a LogOpenError (src/log-file.ts) when one cannot be. */
  ready: Promise<void>;
  /** Writes what is queued and closes the files. */
  close(): Promise<void>;
}

/**
 * The logs of one app. `resolve` makes a file's path absolute (relative ones
 * are taken from the config file's directory). A file where the runtime has
 * no file system (workerd) is refused here, at startup.
 */
export function openLogs(runtime: Runtime, where: LogDestinations, resolve: (path: string) => string): Logs {
  const files: LogFile[] = [];
  const open = (key: string, path: string, complain: (line: string) => void): LogFile => {
    if (!runtime.fs) {
      const others = key === "access_log" ? '"-" (the platform\'s log) or "off"' : '"-" (the platform\'s log)';
      throw new Error(`${key}: ${JSON.stringify(path)} is a file, and ${runtime.name} has no file system: give ${others}`);
    }
    const file = new LogFile(runtime.fs, key, resolve(path), complain);
    files.push(file);
    return file;
  };
  let logError = runtime.logError;
  if (where.errorLog !== "-") {
    const file = open("error_log", where.errorLog, runtime.logError);
    // A file has no journal to date its lines: each carries its time (UTC), as an access line does.
    logError = (line) => file.write(`[${logTime(Date.now())}] ${line}`);
  }
  let logAccess = runtime.logAccess;
  if (where.accessLog === "off") logAccess = () => undefined;
  else if (isLogFile(where.accessLog)) {
    const file = open("access_log", where.accessLog, logError);
    logAccess = (line) => file.write(line);
  }
  return {
    runtime: { ...runtime, logAccess, logError },
    ready: Promise.all(files.map((file) => file.opened)).then(() => undefined),
    close: async () => {
      await Promise.all(files.map((file) => file.close()));
    },
  };
}
