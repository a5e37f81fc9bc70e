// A snapshot of an interpreter's instance once initialized (preinit.ts): made
// once when the route starts, then each request's instance begins as a copy
// of it instead of initializing again (Ruby: ~70 ms a request saved). The
// instance is initialized as any request's would be, but with no request:
// no arguments but the interpreter's, an empty environment, no stdin.

import { wasiImports, type WasiIo } from "./host.ts";
import type { Interpreter } from "./interpreter.ts";
import { MEMORY_IMPORT } from "./memory-limit.ts";
import type { MemoryImage } from "./messages.ts";
import { exportGlobals, preinitialize } from "./preinit.ts";
import type { Volume } from "./volume.ts";

const PAGE = 65536;

export interface Snapshot {
  /** The module that starts where initialization ended. */
  module: WebAssembly.Module;
  /** Limits of the memory it imports: initially as large as the snapshot's. */
  memory: { initial: number; maximum: number };
  image: MemoryImage;
}

/**
 * Initializes `bytes` (a module that imports its memory, see
 * memory-limit.ts importMemory) with `interpreter` and keeps the result.
 * What the instance writes meanwhile goes to `log`.
 */
export async function takeSnapshot(
  bytes: Uint8Array,
  memoryLimits: { initial: number; maximum: number },
  interpreter: Interpreter,
  volumes: Volume[],
  log: (line: string) => void,
): Promise<Snapshot> {
  const exported = exportGlobals(bytes);
  const module = await WebAssembly.compile(exported.bytes as Uint8Array<ArrayBuffer>);
  const memory = new WebAssembly.Memory(memoryLimits);
  const decoder = new TextDecoder();
  const io: WasiIo = {
    readStdin: () => new Uint8Array(0),
    writeStdout: (out) => log(`stdout while initializing: ${decoder.decode(out).trimEnd()}`),
    writeStderr: (out) => log(`stderr while initializing: ${decoder.decode(out).trimEnd()}`),
  };
  const strings = new TextEncoder().encode(`${interpreter.name}\0`);
  const wasi = wasiImports({ strings, argc: 1, envc: 0, io, volumes }, () => memory);
  let instance: WebAssembly.Instance | undefined;
  instance = new WebAssembly.Instance(module, {
    wasi_snapshot_preview1: wasi,
    [MEMORY_IMPORT.module]: { [MEMORY_IMPORT.name]: memory },
    ...interpreter.imports(() => instance!),
  });
  interpreter.initialize(instance);

  const values = new Map<number, number | bigint>();
  for (const global of exported.globals) values.set(global.index, (instance.exports[global.exportName] as WebAssembly.Global).value);
  const pages = memory.buffer.byteLength / PAGE;
  const image = imageOf(new Uint8Array(memory.buffer));
  const preinitialized = preinitialize(bytes, values);
  return {
    module: await WebAssembly.compile(preinitialized as Uint8Array<ArrayBuffer>),
    memory: { initial: pages, maximum: memoryLimits.maximum },
    image,
  };
}

/** The pages of `memory` that are not all zero (most of an initialized heap is), in shared memory for every thread. */
function imageOf(memory: Uint8Array): MemoryImage {
  const pages: number[] = [];
  const words = new BigUint64Array(memory.buffer, memory.byteOffset, memory.byteLength / 8);
  for (let page = 0; page < memory.byteLength / PAGE; page++) {
    const first = (page * PAGE) / 8;
    for (let i = first; i < first + PAGE / 8; i++) {
      if (words[i] !== 0n) {
        pages.push(page);
        break;
      }
    }
  }
  const bytes = new SharedArrayBuffer(pages.length * PAGE);
  const into = new Uint8Array(bytes);
  pages.forEach((page, i) => into.set(memory.subarray(page * PAGE, (page + 1) * PAGE), i * PAGE));
  return { pages, bytes };
}

/** A memory as the snapshot left it, for one run. */
export function restoreImage(limits: { initial: number; maximum: number }, image: MemoryImage): WebAssembly.Memory {
  const memory = new WebAssembly.Memory(limits);
  const into = new Uint8Array(memory.buffer);
  const from = new Uint8Array(image.bytes);
  image.pages.forEach((page, i) => into.set(from.subarray(i * PAGE, (i + 1) * PAGE), page * PAGE));
  return memory;
}

/**
 * Puts a memory a run used back as the snapshot left it, every byte: the
 * snapshot's pages copied, all others zeroed. Cheaper than a new memory
 * (whose pages the copy would fault in one by one).
 */
export function resetToImage(memory: WebAssembly.Memory, image: MemoryImage): void {
  const into = new Uint8Array(memory.buffer);
  const from = new Uint8Array(image.bytes);
  let zeroFrom = 0;
  image.pages.forEach((page, i) => {
    into.fill(0, zeroFrom, page * PAGE);
    into.set(from.subarray(i * PAGE, (i + 1) * PAGE), page * PAGE);
    zeroFrom = (page + 1) * PAGE;
  });
  into.fill(0, zeroFrom);
}
