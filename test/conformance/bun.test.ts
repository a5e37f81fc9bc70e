// The conformance suite against `bun bin/postern.ts serve` (bun from npm).
import { join } from "node:path";
import { processTarget } from "./process-target.ts";
import { conformance, PROBE, ROOT } from "./suite.ts";

const BUN = join(ROOT, "node_modules/.bin/bun");

conformance(processTarget("bun", { spawn: true, clientAddress: true, ownServer: true, threads: true, files: true, probeModule: PROBE }, (config) => [BUN, join(ROOT, "bin/postern.ts"), "serve", "--config", config]));
