// The conformance suite against `deno run -A bin/postern.ts serve` (deno from npm).
import { posternClis, processTarget } from "./process-target.ts";
import { conformance, PROBE } from "./suite.ts";

conformance(processTarget(posternClis(["deno"])[0]!, { spawn: true, clientAddress: true, ownServer: true, threads: true, files: true, probeModule: PROBE }));
