// The conformance suite against `node bin/postern.js serve`, on each Node
// release postern supports: the machine's and those test/node-versions pins.
import { posternClis, processTarget } from "./process-target.ts";
import { conformance, PROBE } from "./suite.ts";

for (const cli of posternClis(["node"])) {
  conformance(processTarget(cli, { spawn: true, clientAddress: true, ownServer: true, threads: true, files: true, probeModule: PROBE }));
}
