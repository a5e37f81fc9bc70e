// `postern check [--config FILE]`: reads the config as `postern serve` would,
// then checks what serve would refuse when it starts (gateways/checks/config.ts:
// roots, programs, modules, a wsgi app's import, listen sockets' directories)
// without binding or serving anything, as `nginx -t` and `caddy validate` do.
// Every problem is printed, `file:line: routes[N].key: message`; exit status 2
// if there is any, else 0 (warnings leave it 0).

import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { checkConfig } from "../gateways/checks/config.ts";
import { gatewaySchemas } from "../gateways/index.ts";
import { parseAccounts, type Accounts } from "../src/accounts.ts";
import { ConfigError, parseConfig, type Config } from "../src/config.ts";
import { configWarnings, runtime } from "./platform.ts";
import { setupProblemLines } from "./setup-errors.ts";

/** Exit status of a config that serve would refuse, as of a usage error. */
const INVALID = 2;

export async function checkCommand(args: string[]): Promise<number> {
  let file: string;
  try {
    const { values } = parseArgs({ args, options: { config: { type: "string", short: "c" } } });
    file = values.config ?? "postern.toml";
  } catch (err) {
    return fail((err as Error).message);
  }
  let config: Config;
  try {
    config = parseConfig(readFileSync(file, "utf8"), file, gatewaySchemas, machineAccounts());
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message);
    return fail(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const baseDir = dirname(resolve(file));
  for (const { line, message } of await configWarnings(config, baseDir)) {
    process.stderr.write(`postern: ${file}:${line}: warning: ${message}\n`);
  }
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

function fail(message: string): number {
  process.stderr.write(`postern: ${message}\n`);
  return INVALID;
}

/** This machine's users and groups: a config's `user` and `group` must name one, as for serve. */
function machineAccounts(): Accounts {
  const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");
  return parseAccounts(read("/etc/passwd"), read("/etc/group"));
}
