// A wasi route's setup, checked: its module read, compiled with its memory
// capped, and found to be one this host can run (WASI preview1 imports, a
// memory, the entrypoint or the interpreter's functions exported); its root
// and volumes read. Used by the gateway when it starts, and by
// `postern check` (which stops there: an interpreter's snapshot is taken by
// running it, when the route starts).

import { Problems, setupError } from "../../src/check/problems.ts";
import { readAllLimited } from "../../src/io/bytes.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { Interpreter } from "../wasi/interpreter.ts";
import { importMemory, limitMemory, MEMORY_IMPORT } from "../wasi/memory-limit.ts";
import { SCRIPT_ROOT, type WasiOptions } from "../wasi/options.ts";
import { readVolume, type Volume } from "../wasi/volume.ts";

/** Largest module file read. */
const MAX_MODULE_BYTES = 256 * 1024 ** 2;

export interface LoadedModule {
  module: WebAssembly.Module;
  /** The limits of the memory it imports, when it was made to (see memory-limit.ts importMemory). */
  memory?: { initial: number; maximum: number };
  /** The bytes `module` was compiled from, when read from a file. */
  bytes?: Uint8Array;
}

export interface WasiSetup {
  loaded: LoadedModule;
  /** The root's (an interpreter route's scripts, first) and the volumes' trees. */
  volumes: Volume[];
}

/** The route's setup; a SetupError with every problem found otherwise. */
export async function wasiSetup(runtime: Runtime, o: WasiOptions, interpreter: Interpreter | undefined, name: string): Promise<WasiSetup> {
  const problems = new Problems(name);
  const loaded = await problems.check(() => loadModule(runtime, o.module, o.max_memory, name));
  const entrypointKey = o.entrypoint === undefined ? "module" : "entrypoint";
  if (loaded) checkModule(problems, loaded.module, interpreter ?? o.entrypoint ?? "_start", loaded.memory !== undefined, entrypointKey);
  const volumes: Volume[] = [];
  const budget = { left: o.max_volume_size };
  const directories = Object.entries(o.volumes);
  if (o.root !== undefined) directories.unshift([SCRIPT_ROOT, o.root]);
  for (const [guest, host] of directories) {
    const key = guest === SCRIPT_ROOT && o.root !== undefined ? ["root"] : ["volumes", guest];
    if (!runtime.fs) {
      problems.add(key, `a directory needs a file system, which the ${runtime.name} runtime has not`);
      continue;
    }
    try {
      volumes.push(await readVolume(runtime.fs, guest, host, budget));
    } catch (err) {
      problems.add(key, (err as Error).message);
    }
  }
  problems.done();
  return { loaded: loaded!, volumes };
}

/**
 * The module compiled, with its memory capped and, where it defines one,
 * imported instead (so that threads can hand instances a memory they kept).
 */
async function loadModule(runtime: Runtime, path: string, maxMemory: number, route: string): Promise<LoadedModule> {
  const bundled = runtime.wasmModules?.get(path);
  if (bundled) return { module: bundled };
  const fs = runtime.fs;
  if (!fs) throw setupError(route, ["module"], `${JSON.stringify(path)} is not among the modules bundled for ${runtime.name}, which reads no files`);
  const stat = await fs.stat(path);
  if (!stat?.isFile) throw setupError(route, ["module"], `${JSON.stringify(path)} ${stat ? "is not a file" : "does not exist"}`);
  const bytes = await readAllLimited(fs.readStream(path), MAX_MODULE_BYTES, () => setupError(route, ["module"], `${JSON.stringify(path)} is over 256 MiB`));
  try {
    const limited = limitMemory(bytes, maxMemory);
    const imported = importMemory(limited);
    if (!imported) return { module: await WebAssembly.compile(limited as Uint8Array<ArrayBuffer>), bytes: limited };
    const module = await WebAssembly.compile(imported.bytes as Uint8Array<ArrayBuffer>);
    return { module, memory: { initial: imported.initial, maximum: imported.maximum }, bytes: imported.bytes };
  } catch (err) {
    throw setupError(route, ["module"], `${JSON.stringify(path)}: ${(err as Error).message}`);
  }
}

/**
 * A module this host can run: WASI preview1 imports (and the memory
 * importMemory made it import, and an interpreter's own), its memory and
 * the entrypoint, or the interpreter's functions, exported.
 */
function checkModule(problems: Problems, module: WebAssembly.Module, program: string | Interpreter, importsMemory: boolean, entrypointKey: string): void {
  const interpreterImports = typeof program === "string" ? [] : Object.keys(program.imports(() => undefined as never));
  for (const item of WebAssembly.Module.imports(module)) {
    if (importsMemory && item.kind === "memory" && item.module === MEMORY_IMPORT.module && item.name === MEMORY_IMPORT.name) continue;
    if (interpreterImports.includes(item.module) && item.kind === "function") continue;
    if (item.module !== "wasi_snapshot_preview1" || item.kind !== "function") {
      problems.add(["module"], `the module imports ${item.module}.${item.name} (${item.kind}); only WASI preview1 functions are provided`);
    }
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get("memory") !== "memory") problems.add(["module"], "the module exports no memory");
  const wanted = typeof program === "string" ? [program] : program.exports;
  for (const name of wanted) {
    if (exports.get(name) !== "function") {
      const what = typeof program === "string" ? "(entrypoint)" : `(is it ${program.name}?)`;
      problems.add([typeof program === "string" ? entrypointKey : "module"], `the module exports no function ${JSON.stringify(name)} ${what}`);
    }
  }
}
