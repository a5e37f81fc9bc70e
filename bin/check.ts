// `postern check [--config FILE]`: reads the config as `postern serve` would,
// then checks what serve would refuse when it starts (gateways/checks/config.ts:
// roots, programs, modules, a wsgi app's import, listen sockets' directories)
// without binding or serving anything, as `nginx -t` and `caddy validate` do.
// Every problem is printed, `file:line: routes[N].key: message`; exit status 2
// if there is any, else 0 (warnings leave it 0).

import { dirname, resolve } from "node:path";
import { checkConfig } from "../gateways/checks/config.ts";
import { parseFlags } from "./args.ts";
import { loadConfig, printConfigWarnings } from "./config-file.ts";
import { runtime } from "./platform.ts";
import { setupProblemLines } from "./setup-errors.ts";
import { COMMAND_USAGE } from "./usage.ts";

/** Exit status of a config that serve would refuse, as of a usage error. */
const INVALID = 2;

/** Runs `postern check`; a config that does not parse is thrown (a ConfigError, or a UsageError for a file that cannot be read). */
export async function checkCommand(args: string[]): Promise<number> {
  const { values, help } = await parseFlags(args, { config: { names: ["--config", "-c"] } });
  if (help) {
    process.stdout.write(`${COMMAND_USAGE.check}\n`);
    return 0;
  }
  const file = values.config ?? "postern.toml";
  const config = loadConfig(file);
  const baseDir = dirname(resolve(file));
  // Warnings leave the exit status 0: the config is valid, and safe, as it is.
  await printConfigWarnings(config, file, baseDir);
  const problems = await checkConfig(config, runtime, baseDir);
  for (const line of setupProblemLines(problems, config)) process.stderr.write(`postern: ${line}\n`);
  if (problems.length > 0) {
    process.stderr.write(`postern: ${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}: postern serve would not start\n`);
    return INVALID;
  }
  const routes = config.routes.length;
  process.stdout.write(`${file}: ok (${routes} route${routes === 1 ? "" : "s"})\n`);
  return 0;
}
