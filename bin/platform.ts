// The runtime the CLI runs on: Deno and Bun are told apart by their
// namespaces, anything else is Node. Each runtime's entry point exports the
// same API (runtimes/<name>/index.ts).

import type { Runtime } from "../src/runtime.ts";

type Platform = typeof import("../runtimes/node/index.ts");

const runtimeGlobals = globalThis as { Deno?: unknown; Bun?: unknown };
const entry = runtimeGlobals.Deno ? "../runtimes/deno/index.ts" : runtimeGlobals.Bun ? "../runtimes/bun/index.ts" : "../runtimes/node/index.ts";

const platform = (await import(entry)) as Platform & { denoRuntime?: Runtime; bunRuntime?: Runtime };

export const { configWarnings, createApp, serve } = platform;
/** The Runtime itself (`postern check` runs each route's setup checks on it). */
export const runtime: Runtime = platform.denoRuntime ?? platform.bunRuntime ?? platform.nodeRuntime;
