// `postern wsgi`: Gunicorn's command line (gateways/wsgi/cli.ts) served.

import { dirname, resolve } from "node:path";
import { gatewaySchemas } from "../gateways/index.ts";
import { checkWsgiRoutes, wsgiCommand as readWsgiCommand } from "../gateways/wsgi/cli.ts";
import { loadConfig, machineAccounts } from "./config-file.ts";
import { flagProblem } from "./quick-config.ts";
import { run } from "./run.ts";
import { COMMAND_USAGE } from "./usage.ts";

export async function wsgiCommand(argv: string[]): Promise<number> {
  const wsgi = readWsgiCommand(argv, { cwd: process.cwd(), env: process.env, gateways: gatewaySchemas, accounts: machineAccounts() });
  if (wsgi.mode === "help") {
    process.stdout.write(`${COMMAND_USAGE.wsgi}\n`);
    return 0;
  }
  if (wsgi.mode === "file") {
    const { file, listen } = wsgi;
    const load = () => {
      const config = loadConfig(file);
      checkWsgiRoutes(config, file);
      return listen ? { ...config, listen } : config;
    };
    return run(load(), dirname(resolve(file)), { reload: load });
  }
  // No file to read again: a SIGHUP starts the same route anew, whose new
  // workers import the app's code as it is now (Gunicorn's HUP).
  return run(wsgi.config, process.cwd(), { reload: () => wsgi.config, describe: flagProblem(wsgi.typed) });
}
