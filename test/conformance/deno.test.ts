// The conformance suite against `deno run -A bin/postern.ts serve` (deno from npm).
import { POSTERN_CLI } from "../helpers/postern-cli.ts";
import { processTarget } from "./process-target.ts";
import { conformance, PROBE } from "./suite.ts";

conformance(
  processTarget("deno", { spawn: true, clientAddress: true, ownServer: true, threads: true, files: true, probeModule: PROBE }, (config) => [...POSTERN_CLI.deno, "serve", "--config", config]),
);
