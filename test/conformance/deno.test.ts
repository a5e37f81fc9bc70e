// The conformance suite against `deno run -A bin/postern.ts serve` (deno from npm).
import { join } from "node:path";
import { processTarget } from "./process-target.ts";
import { conformance, PROBE, ROOT } from "./suite.ts";

const DENO = join(ROOT, "node_modules/.bin/deno");

conformance(
  processTarget("deno", { spawn: true, clientAddress: true, ownServer: true, threads: true, files: true, probeModule: PROBE }, (config) => [
    DENO,
    "run",
    "-A",
    "--unstable-no-legacy-abort",
    join(ROOT, "bin/postern.ts"),
    "serve",
    "--config",
    config,
  ]),
);
