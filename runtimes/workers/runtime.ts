// The Runtime for Cloudflare Workers (workerd): TCP through cloudflare:sockets,
// and nothing else of a host: no processes, no files, no unix sockets, no
// threads. WebAssembly modules cannot be compiled from bytes there, so the
// bundle imports them and registers them by name (registerWasmModules, from
// gateways/index.ts bindGateways).

import type { Runtime } from "../../src/runtime.ts";
import { connect } from "./connect.ts";

export const workersRuntime = {
  name: "workerd",
  connect,
  unixSockets: false,
  requestScopedIO: true,
  wasmModules: new Map<string, WebAssembly.Module>(),
  getEnv: () => undefined,
  logAccess: (line) => console.log(line),
  logError: (line) => console.error(line),
} satisfies Runtime;
