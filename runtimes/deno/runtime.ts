// The Runtime for Deno: every Deno.* call postern makes lives under runtimes/deno/.

import { datedErrors } from "../../src/logs.ts";
import type { Runtime } from "../../src/runtime.ts";
import { passwordHashes } from "../common/password-hashes.ts";
import { zlibCompression } from "../common/zlib-compression.ts";
import { startWebWorker } from "../common/web-worker.ts";
import { Deno } from "./api.ts";
import { connect } from "./connect.ts";
import { fs } from "./fs.ts";
import { lineWriter } from "./log.ts";
import { spawn } from "./spawn.ts";

export const denoRuntime = {
  name: "deno",
  connect,
  unixSockets: true,
  wasmModules: new Map<string, WebAssembly.Module>(),
  spawn,
  uid: () => Deno.uid() ?? -1,
  startWorker: startWebWorker,
  fs,
  passwordHashes,
  getEnv: (name) => Deno.env.get(name),
  logAccess: lineWriter(Deno.stdout),
  logError: datedErrors(lineWriter(Deno.stderr)),
  compression: zlibCompression,
  residentMemory: () => Deno.memoryUsage().rss,
} satisfies Runtime;
