// Answer compression, pre-compressed files and response headers with postern
// run by each runtime (test/helpers/compress-suite.ts): Node 20 has no zstd
// compressor, Node >= 22.15, Deno and Bun have one.

import { describe } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { compressionSuite } from "./helpers/compress-suite.ts";
import { nodeBinaries } from "./helpers/node-versions.ts";
import { startPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { stopProcessGroup } from "./helpers/server-process.ts";

const tools = ["zstd", "brotli", "gzip"].every((tool) => requireBinary([tool], tool) !== undefined);

function starter(runtime: CliRuntime, node?: string) {
  return async (configFile: string) => {
    const served = await startPostern(["serve", "-c", configFile, "-b", "127.0.0.1:0", "--access-log", "off"], { runtime, ...(node ? { node } : {}) });
    return { url: served.url, stderr: served.stderr, stop: () => stopProcessGroup(served.proc, "SIGTERM") };
  };
}

for (const { major, path } of nodeBinaries()) {
  // zlib.createZstdCompress came with Node 22.15 (and 23.8); the tested 22 is later.
  const offered = major >= 22 ? ["zstd", "br", "gzip"] : ["br", "gzip"];
  describe.runIf(tools)(`Node ${major}`, () => compressionSuite(offered, starter("node", path)));
}

for (const runtime of ["deno", "bun"] as const) {
  describe.runIf(tools)(runtime, () => compressionSuite(["zstd", "br", "gzip"], starter(runtime)));
}
