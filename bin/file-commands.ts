// `postern serve` (a postern.toml) and `postern wagi` (a WAGI modules.toml):
// the commands that serve a file, read again on SIGHUP.

import { dirname, resolve } from "node:path";
import type { Config } from "../src/config.ts";
import { wagiConfig } from "../gateways/wasi/wagi.ts";
import { gatewaySchemas } from "../gateways/index.ts";
import { UsageError, type Parsed } from "./args.ts";
import type { SERVE_FLAGS, SERVER_FLAGS } from "./commands.ts";
import { loadConfig, printConfigWarnings, readConfigFile } from "./config-file.ts";
import { run } from "./run.ts";
import { runOptions, serverSettings } from "./server-settings.ts";

export function serveCommand(args: Parsed<typeof SERVE_FLAGS>): Promise<number> {
  if (args.positionals.length > 0) throw new UsageError(`serve takes no ${JSON.stringify(args.positionals[0])}: the config says what to serve (-c FILE)`);
  const file = args.values.config ?? "postern.toml";
  return serveFile(file, args, () => loadConfig(file));
}

export function wagiCommand(args: Parsed<typeof SERVER_FLAGS>): Promise<number> {
  if (args.positionals.length !== 1) throw new UsageError("wagi needs one file: postern wagi modules.toml");
  const file = args.positionals[0]!;
  return serveFile(file, args, () => wagiConfig(readConfigFile(file), file, gatewaySchemas));
}

/** Serves what `file` says, the flags over it, reading it again on SIGHUP. */
async function serveFile(file: string, args: Parsed<typeof SERVER_FLAGS>, read: () => Config): Promise<number> {
  const settings = serverSettings(args);
  const load = () => settings.apply(read());
  const config = load();
  const baseDir = dirname(resolve(file));
  await printConfigWarnings(config, file, baseDir);
  return run(config, baseDir, runOptions(settings, { reload: load }));
}
