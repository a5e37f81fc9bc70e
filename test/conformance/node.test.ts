// The conformance suite against `node bin/postern.js serve`.
import { POSTERN_CLI } from "../helpers/postern-cli.ts";
import { processTarget } from "./process-target.ts";
import { conformance, PROBE } from "./suite.ts";

conformance(
  processTarget("node", { spawn: true, clientAddress: true, ownServer: true, threads: true, files: true, probeModule: PROBE }, (config) => [...POSTERN_CLI.node, "serve", "--config", config]),
);
