// The conformance suite against `bun bin/postern.ts serve` (bun from npm).
import { posternClis, processTarget } from "./process-target.ts";
import { conformance, PROBE } from "./suite.ts";

conformance(processTarget(posternClis(["bun"])[0]!, { spawn: true, clientAddress: true, ownServer: true, threads: true, files: true, probeModule: PROBE }));
