// Caps a module's linear memory by rewriting the maximum in its memory
// section (WebAssembly core spec §5.5.8 "Memory Section", §5.3.8 "Limits"),
// so that memory.grow past the cap fails inside the engine itself, whatever
// the module does between host calls. A pure function over the module's bytes.

import { concatBytes } from "../../src/io/bytes.ts";

const PAGE = 65536;
const MEMORY_SECTION = 5;

export class MemoryLimitError extends Error {}

/**
 * The module's bytes with every defined memory's maximum at most
 * `maxBytes` (rounded down to whole pages). Throws MemoryLimitError when a
 * memory's minimum is already larger, or for a shared memory (threads).
 */
export function limitMemory(module: Uint8Array, maxBytes: number): Uint8Array {
  const maxPages = Math.floor(maxBytes / PAGE);
  // Header: "\0asm" and version 1 (§5.5.16).
  let offset = 8;
  while (offset < module.byteLength) {
    const id = module[offset]!;
    const [size, sizeEnd] = readU32(module, offset + 1);
    const contentEnd = sizeEnd + size;
    if (id === MEMORY_SECTION) {
      const content = rewriteMemories(module.subarray(sizeEnd, contentEnd), maxPages);
      return concatBytes([module.subarray(0, offset), Uint8Array.of(MEMORY_SECTION), writeU32(content.byteLength), content, module.subarray(contentEnd)]);
    }
    offset = contentEnd;
  }
  return module; // no memory of its own
}

function rewriteMemories(section: Uint8Array, maxPages: number): Uint8Array {
  const [count, start] = readU32(section, 0);
  const parts: Uint8Array[] = [writeU32(count)];
  let offset = start;
  for (let i = 0; i < count; i++) {
    const flags = section[offset]!;
    if (flags & 0b10) throw new MemoryLimitError("the module's memory is shared (threads), which this host does not run");
    if (flags & 0b100) throw new MemoryLimitError("the module's memory is 64-bit, which this host does not run");
    const [min, minEnd] = readU32(section, offset + 1);
    let max = maxPages;
    offset = minEnd;
    if (flags & 1) {
      const [declared, maxEnd] = readU32(section, offset);
      max = Math.min(declared, maxPages);
      offset = maxEnd;
    }
    if (min > maxPages) {
      throw new MemoryLimitError(`the module needs ${min * PAGE} bytes of memory at start, over max_memory (${maxPages * PAGE})`);
    }
    parts.push(Uint8Array.of(1), writeU32(min), writeU32(max));
  }
  return concatBytes(parts);
}

/** An unsigned LEB128 u32 (§5.2.2) and the offset after it. */
function readU32(bytes: Uint8Array, offset: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[offset++];
    if (byte === undefined || shift > 28) throw new MemoryLimitError("malformed module");
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, offset];
    shift += 7;
  }
}

function writeU32(value: number): Uint8Array {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return Uint8Array.from(out);
}
