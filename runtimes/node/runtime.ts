// The Runtime for Node: every node:* call postern makes lives under runtimes/node/.

import { datedErrors } from "../../src/logs.ts";
import type { Runtime } from "../../src/runtime.ts";
import { passwordHashes } from "../common/password-hashes.ts";
import { zlibCompression } from "../common/zlib-compression.ts";
import { connect } from "./connect.ts";
import { fs } from "./fs.ts";
import { lineWriter } from "./log.ts";
import { spawn } from "./spawn.ts";
import { startWorker } from "./worker.ts";

export const nodeRuntime = {
  name: "node",
  connect,
  unixSockets: true,
  wasmModules: new Map<string, WebAssembly.Module>(),
  spawn,
  uid: () => process.getuid!(),
  startWorker,
  fs,
  passwordHashes,
  getEnv: (name) => process.env[name],
  logAccess: lineWriter(process.stdout),
  logError: datedErrors(lineWriter(process.stderr)),
  compression: zlibCompression,
  residentMemory: () => process.memoryUsage.rss(),
} satisfies Runtime;
