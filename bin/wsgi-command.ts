// `postern wsgi`: Gunicorn's command line (gateways/wsgi/cli.ts) served.

import { dirname, resolve } from "node:path";
import type { SetupProblem } from "../src/check/problems.ts";
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
    const { file, listen, pidFile } = wsgi;
    const load = () => {
      const config = loadConfig(file);
      checkWsgiRoutes(config, file);
      return listen ? { ...config, listen } : config;
    };
    return run(load(), dirname(resolve(file)), { reload: load, ...(pidFile === undefined ? {} : { pidFile }) });
  }
  // No file to read again: a SIGHUP starts the same route anew, whose new
  // workers import the app's code as it is now (Gunicorn's HUP).
  const pidFile = wsgi.pidFile === undefined ? {} : { pidFile: wsgi.pidFile };
  const routeProblem = flagProblem(wsgi.typed);
  // A log file that cannot be opened is named by the flag that gave it (--access-logfile).
  const describe = (problem: SetupProblem) => {
    const flag = problem.route === undefined && typeof problem.key[0] === "string" ? wsgi.typedTop[problem.key[0]] : undefined;
    return flag === undefined ? routeProblem(problem) : `${flag}: ${problem.message}`;
  };
  return run(wsgi.config, process.cwd(), { reload: () => wsgi.config, describe, ...pidFile });
}
