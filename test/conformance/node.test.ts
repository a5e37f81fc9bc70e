// The conformance suite against `node bin/postern.js serve`, on each Node
// release postern supports: the machine's and those test/node-versions pins.
import { nodeBinaries } from "../helpers/node-versions.ts";
import { POSTERN_CLI } from "../helpers/postern-cli.ts";
import { processTarget } from "./process-target.ts";
import { conformance, PROBE } from "./suite.ts";

const [, ...postern] = POSTERN_CLI.node;

for (const node of nodeBinaries()) {
  conformance(
    processTarget(`node ${node.major}`, { spawn: true, clientAddress: true, ownServer: true, threads: true, files: true, probeModule: PROBE }, (config) => [node.path, ...postern, "serve", "--config", config]),
  );
}
