// postern's own lines about the process (signals, reloads, shutdown) on
// stderr, dated and levelled as the error log's lines are (src/logs.ts), so
// that a reload or a slow shutdown can be put beside the requests around it.

import { errorLogLine, type LogLevel } from "../src/logs.ts";

export function processLog(level: LogLevel, message: string): void {
  process.stderr.write(`${errorLogLine(Date.now(), level, `postern: ${message}`)}\n`);
}
