// The conformance suite against `node bin/postern.js serve`.
import { join } from "node:path";
import { processTarget } from "./process-target.ts";
import { conformance, PROBE, ROOT } from "./suite.ts";

conformance(
  processTarget("node", { spawn: true, clientAddress: true, ownServer: true, threads: true, files: true, probeModule: PROBE }, (config) => [process.execPath, join(ROOT, "bin/postern.js"), "serve", "--config", config]),
);
