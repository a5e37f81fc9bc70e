// The Runtime for Bun: Bun.spawn for processes, Web Workers for threads;
// sockets and files through Bun's own implementations of node:net and
// node:fs (runtimes/node/connect.ts and fs.ts run there unchanged; their
// sockets pause and resume for a reader's backpressure).

import type { Runtime } from "../../src/runtime.ts";
import { startWebWorker } from "../common/web-worker.ts";
import { connect } from "../node/connect.ts";
import { fs } from "../node/fs.ts";
import { lineWriter } from "../node/log.ts";
import { Bun } from "./api.ts";
import { spawn } from "./spawn.ts";

export const bunRuntime = {
  name: "bun",
  connect,
  unixSockets: true,
  wasmModules: new Map<string, WebAssembly.Module>(),
  spawn,
  startWorker: startWebWorker,
  fs,
  getEnv: (name) => Bun.env[name],
  logAccess: lineWriter(process.stdout),
  logError: lineWriter(process.stderr),
} satisfies Runtime;
