// The conformance suite against `bun bin/postern.ts serve` (bun from npm).
import { POSTERN_CLI } from "../helpers/postern-cli.ts";
import { processTarget } from "./process-target.ts";
import { conformance, PROBE } from "./suite.ts";

conformance(
  processTarget("bun", { spawn: true, clientAddress: true, ownServer: true, threads: true, files: true, probeModule: PROBE }, (config) => [...POSTERN_CLI.bun, "serve", "--config", config]),
);
