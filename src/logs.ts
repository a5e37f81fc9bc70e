// Where postern's two logs go, as the `access_log` and `error_log` keys say:
// "-" is the runtime's stdout (requests) or stderr (errors), "off" nothing
// (requests only), anything else a file appended to (src/log-file.ts). Routes
// log through the Runtime they are given: this makes the one whose logAccess
// and logError write where the config says.
//
// Error log lines are nginx's: `2026/12/06 21:00:00 [error] message`, in UTC,
// and a line about a request ends with its client and request line
// (`, client: 192.0.2.7, request: "GET /x.php HTTP/1.1"`), its message
// beginning with the route's name.

import { escapeLineBreaks, quote } from "./access-log.ts";
import { LogFile } from "./log-file.ts";
import type { RequestRecord } from "./request-record.ts";
import type { Runtime } from "./runtime.ts";

/** How grave an error log line is (nginx's levels that postern uses). */
export type LogLevel = "error" | "warn" | "notice";

let cachedSecond = -1;
let cachedStamp = "";

/**
 * `2026/12/06 21:00:00 [error] line`; the time formatted once per second. A
 * line break in `line` (a script's stderr quoting the request, a backend's
 * field) is escaped, so that a client cannot write a line of its own into
 * the log (CWE-117).
 */
export function errorLogLine(ms: number, level: LogLevel, line: string): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedStamp = new Date(second * 1000).toISOString().slice(0, 19).replace(/-/g, "/").replace("T", " ");
    cachedSecond = second;
  }
  return `${cachedStamp} [${level}] ${escapeLineBreaks(line)}`;
}

/** `write` with each line dated and levelled "error": a runtime's stderr as its logError. */
export function datedErrors(write: (line: string) => void): (line: string) => void {
  return (line) => write(errorLogLine(Date.now(), "error", line));
}

/** What ends an error line about a request: `, client: 192.0.2.7, request: "GET /x HTTP/1.1"`, the request line escaped as the access log's. */
export function requestContext(record: RequestRecord): string {
  return `, client: ${record.client || "-"}, request: ${quote(`${record.method} ${record.target} ${record.protocol}`)}`;
}

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
    logError = datedErrors((line) => file.write(line));
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
