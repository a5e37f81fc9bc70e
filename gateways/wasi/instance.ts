// One run of a route's module, wherever it runs (a worker thread, or the
// calling thread where there are none): a fresh instance with the WASI host,
// the module's entrypoint or the interpreter's script runner, and the
// memories kept between runs.

import { splitStrings, WasiExit, wasiImports, type WasiIo } from "./host.ts";
import { interpreters } from "./interpreter.ts";
import { MEMORY_IMPORT } from "./memory-limit.ts";
import type { MemoryImage, Program } from "./messages.ts";
import { resetToImage, restoreImage } from "./snapshot.ts";
import type { Volume } from "./volume.ts";

const PAGE = 65536;

/** What every run of a route's module shares. */
export interface ModuleSetup {
  module: WebAssembly.Module;
  program: Program;
  volumes: Volume[];
  /** The limits of the memory the module imports (see memory-limit.ts importMemory), in pages; absent when it defines its own. */
  memory?: { initial: number; maximum: number };
  /** What that memory holds when a run starts, when the module is a snapshot of an initialized interpreter. */
  image?: MemoryImage;
}

/** A request's arguments then environment, NUL-terminated strings (host.ts encodeStrings). */
export interface Job {
  strings: Uint8Array;
  argc: number;
  envc: number;
}

/**
 * Runs the job in a new instance. Returns how it ended: normally (returned,
 * or proc_exit, whose status `onExit` hears first) or with what it threw;
 * and the memory it used, for the caller to give back to `memories` once the
 * answer is on its way (wiping it takes time).
 */
export function runInstance(
  setup: ModuleSetup,
  job: Job,
  io: WasiIo,
  memories: MemoryKeeper,
  onExit: (code: number) => void,
): { thrown?: unknown; memory: WebAssembly.Memory | undefined } {
  let memory: WebAssembly.Memory | undefined;
  try {
    // The memory limit is in the module itself (memory-limit.ts): memory.grow fails past it.
    memory = memories.take(setup);
    const imports = wasiImports({ ...job, io, volumes: setup.volumes, onExit }, () => memory!);
    const program = setup.program;
    const interpreter = "interpreter" in program ? interpreters[program.interpreter]! : undefined;
    let instance: WebAssembly.Instance | undefined;
    const importObject: WebAssembly.Imports = { wasi_snapshot_preview1: imports, ...interpreter?.imports(() => instance!) };
    if (memory) importObject[MEMORY_IMPORT.module] = { [MEMORY_IMPORT.name]: memory };
    instance = new WebAssembly.Instance(setup.module, importObject);
    memory = instance.exports.memory as WebAssembly.Memory;
    if (interpreter) {
      // A snapshot starts initialized (snapshot.ts).
      if (!setup.image) interpreter.initialize(instance);
      const [, envAt] = splitStrings(job.strings, 0, job.argc);
      interpreter.run(instance, splitStrings(job.strings, envAt, job.envc)[0]);
    } else {
      (instance.exports[(program as { entrypoint: string }).entrypoint] as () => void)();
    }
    return { memory };
  } catch (err) {
    return err instanceof WasiExit ? { memory } : { thrown: err, memory };
  }
}

/**
 * The memory a run starts with, when the module imports one: one kept from
 * the last run, else the snapshot's, else a new one. A run's memory is kept
 * wiped (or put back as the snapshot left it): nothing of one request may
 * reach the next. A memory that grew is dropped (the next run would start
 * bigger than the module asks).
 */
export class MemoryKeeper {
  #spare: WebAssembly.Memory | undefined;

  take(setup: ModuleSetup): WebAssembly.Memory | undefined {
    if (!setup.memory) return undefined;
    const memory = this.#spare ?? (setup.image ? restoreImage(setup.memory, setup.image) : new WebAssembly.Memory(setup.memory));
    this.#spare = undefined;
    return memory;
  }

  give(setup: ModuleSetup, memory: WebAssembly.Memory | undefined): void {
    if (!setup.memory || !memory || memory.buffer.byteLength !== setup.memory.initial * PAGE) return;
    if (setup.image) resetToImage(memory, setup.image);
    else new Uint8Array(memory.buffer).fill(0);
    this.#spare = memory;
  }
}
