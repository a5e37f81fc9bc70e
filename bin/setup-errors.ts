// How a setup problem is shown on the command line (`postern check`, and
// `postern serve` when a route cannot start): as a schema error is,
// `file:line: routes[N].key: message`, the line that of the key in the file
// the config was read from (src/config.ts ConfigError); in a quick mode, as
// the command says it (by the flag typed: `DIR: "/srv/x" does not exist`).

import { SetupError, type SetupProblem } from "../src/check/problems.ts";
import { configSource } from "../src/check/source.ts";
import { formatKey, locate } from "../src/config-locate.ts";
import { LogOpenError } from "../src/log-file.ts";
import type { Config } from "../src/config.ts";

/** One line per problem (a multi-line message continues on the lines after it). */
export function setupProblemLines(problems: readonly SetupProblem[], config: Config): string[] {
  const source = configSource(config);
  return problems.map((problem) => {
    const path = problem.route === undefined ? problem.key : [source?.routeTable ?? "routes", problem.route, ...problem.key];
    const line = source ? locate(source.text, path) : undefined;
    const where = source ? `${source.file}${line === undefined ? "" : `:${line}`}: ` : "";
    return `${where}${formatKey(path)}: ${problem.message}`;
  });
}

/**
 * Prints a SetupError of `config`'s routes, or a log file that cannot be
 * opened, on stderr, each problem as `describe` says it (a quick mode: by the
 * flag that set its key) or else as a config's, the same line once; gives
 * the exit status: 3 when the only problems are wsgi apps that do not import
 * (Gunicorn's boot error), else 2 (a config error). Undefined for any other
 * error, which the caller reports.
 */
export function printSetupError(err: unknown, config: Config, describe?: (problem: SetupProblem) => string | undefined): number | undefined {
  const problems = err instanceof SetupError ? err.problems : err instanceof LogOpenError ? [logProblem(err)] : undefined;
  if (!problems) return undefined;
  const lines = problems.map((problem) => describe?.(problem) ?? setupProblemLines([problem], config)[0]!);
  for (const line of new Set(lines)) process.stderr.write(`postern: ${line}\n`);
  return problems.every((problem) => problem.boot) ? 3 : 2;
}

/** A LogOpenError (`access_log: cannot open ...`) as the problem of its key. */
function logProblem(err: LogOpenError): SetupProblem {
  return { owner: "postern", key: [err.key], message: err.message.slice(`${err.key}: `.length) };
}
