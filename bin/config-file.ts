// A config file as the commands read it: the text, and this machine's users
// and groups its `user` and `group` keys must name.

import { existsSync, readFileSync } from "node:fs";
import { parseAccounts, type Accounts } from "../src/accounts.ts";
import { parseConfig, type Config } from "../src/config.ts";
import { gatewaySchemas } from "../gateways/index.ts";
import { UsageError } from "./args.ts";
import { whyNot } from "./failure.ts";
import { configWarnings } from "./platform.ts";

export function loadConfig(file: string): Config {
  return parseConfig(readConfigFile(file), file, gatewaySchemas, machineAccounts());
}

/** This machine's users and groups: a config's `user` and `group` must name one. */
export function machineAccounts(): Accounts {
  const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");
  return parseAccounts(read("/etc/passwd"), read("/etc/group"));
}

export function readConfigFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${whyNot(err, { path: file })}`);
  }
}

/**
 * Prints what is valid in `config` but worth a second look (gateways/index.ts
 * configWarnings), as `file:line: warning: ...`: by `postern check`, and by
 * the commands that serve a file when they start, as nginx does.
 */
export async function printConfigWarnings(config: Config, file: string, baseDir: string): Promise<void> {
  for (const { line, message } of await configWarnings(config, baseDir)) {
    process.stderr.write(`postern: ${file}:${line}: warning: ${message}\n`);
  }
}
