// How a setup problem is shown on the command line (`postern check`, and
// `postern serve` when a route cannot start): as a schema error is,
// `file:line: routes[N].key: message`, the line that of the key in the file
// the config was read from (src/config.ts ConfigError).

import { SetupError, type SetupProblem } from "../src/check/problems.ts";
import { configSource } from "../src/check/source.ts";
import { formatKey, locate } from "../src/config-locate.ts";
import { LogOpenError } from "../src/log-file.ts";
import type { Config } from "../src/config.ts";

/** The quick modes' configs are read from no file (bin/postern.ts quickConfig): no line to show. */
const NO_FILE = "command line";

/** One line per problem (a multi-line message continues on the lines after it). */
export function setupProblemLines(problems: readonly SetupProblem[], config: Config): string[] {
  const source = configSource(config);
  return problems.map((problem) => {
    const path = problem.route === undefined ? problem.key : ["routes", problem.route, ...problem.key];
    const line = source && source.file !== NO_FILE ? locate(source.text, path) : undefined;
    const where = source ? `${source.file}${line === undefined ? "" : `:${line}`}: ` : "";
    return `${where}${formatKey(path)}: ${problem.message}`;
  });
}

/**
 * Prints a SetupError of `config`'s routes, or a log file that cannot be
 * opened, on stderr and gives the exit status of a config error (2);
 * undefined for any other error, which the caller reports.
 */
export function printSetupError(err: unknown, config: Config): number | undefined {
  const problems = err instanceof SetupError ? err.problems : err instanceof LogOpenError ? [logProblem(err)] : undefined;
  if (!problems) return undefined;
  for (const line of setupProblemLines(problems, config)) process.stderr.write(`postern: ${line}\n`);
  return 2;
}

/** A LogOpenError (`access_log: cannot open ...`) as the problem of its key. */
function logProblem(err: LogOpenError): SetupProblem {
  return { owner: "postern", key: [err.key], message: err.message.slice(err.key.length + 2) };
}
