// Rewrites of a module's linear memory, pure functions over its bytes
// (WebAssembly core spec §5.5 "Modules"):
// - limitMemory caps it by rewriting the maximum in its memory section
//   (§5.5.8, §5.3.8 "Limits"), so that memory.grow past the cap fails inside
//   the engine itself, whatever the module does between host calls;
// - importMemory turns the memory the module defines into one it imports
//   (§5.5.5), so that the host can hand each instance a memory it already has:
//   allocating a fresh memory is most of what instantiating costs.

import { concatBytes } from "../../src/io/bytes.ts";

const PAGE = 65536;
const TYPE_SECTION = 1;
const IMPORT_SECTION = 2;
const MEMORY_SECTION = 5;
const CUSTOM_SECTION = 0;
/** Where the imported memory comes from. */
export const MEMORY_IMPORT = { module: "env", name: "memory" } as const;

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
  // With several memories (multi-memory), the cap would hold for each, not in all.
  if (count > 1) throw new MemoryLimitError("the module defines several memories, which this host does not run");
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

export interface ImportedMemory {
  bytes: Uint8Array;
  /** The memory's limits, in 64 KiB pages. */
  initial: number;
  maximum: number;
}

/**
 * The module with its one memory, which must have a maximum (limitMemory
 * gives it one), imported as MEMORY_IMPORT instead of defined; null when it
 * defines no memory or several. Memory index 0 is still that memory:
 * imported memories come first in the index space (§2.5.1).
 */
export function importMemory(module: Uint8Array): ImportedMemory | null {
  const sections: { id: number; start: number; content: Uint8Array; end: number }[] = [];
  for (let offset = 8; offset < module.byteLength; ) {
    const [size, sizeEnd] = readU32(module, offset + 1);
    sections.push({ id: module[offset]!, start: offset, content: module.subarray(sizeEnd, sizeEnd + size), end: sizeEnd + size });
    offset = sizeEnd + size;
  }
  const memory = sections.find((section) => section.id === MEMORY_SECTION);
  if (!memory) return null;
  const [count, limitsAt] = readU32(memory.content, 0);
  if (count !== 1 || memory.content[limitsAt] !== 1) return null;
  const [initial, minEnd] = readU32(memory.content, limitsAt + 1);
  const [maximum] = readU32(memory.content, minEnd);
  const name = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return concatBytes([writeU32(bytes.byteLength), bytes]);
  };
  // importdesc 0x02: a memory, with its limits (§5.5.5).
  const entry = concatBytes([name(MEMORY_IMPORT.module), name(MEMORY_IMPORT.name), Uint8Array.of(2, 1), writeU32(initial), writeU32(maximum)]);
  const imports = sections.find((section) => section.id === IMPORT_SECTION);
  let importContent: Uint8Array;
  if (imports) {
    const [n, entriesAt] = readU32(imports.content, 0);
    importContent = concatBytes([writeU32(n + 1), imports.content.subarray(entriesAt), entry]);
  } else {
    importContent = concatBytes([writeU32(1), entry]);
  }
  const importSection = concatBytes([Uint8Array.of(IMPORT_SECTION), writeU32(importContent.byteLength), importContent]);
  const parts: Uint8Array[] = [module.subarray(0, 8)];
  let placed = false;
  for (const section of sections) {
    const whole = module.subarray(section.start, section.end);
    if (section === memory) continue;
    if (section === imports) {
      parts.push(importSection);
      placed = true;
      continue;
    }
    // Without an import section, the new one goes after the type section (§5.5.2 order).
    if (!placed && section.id !== TYPE_SECTION && section.id !== CUSTOM_SECTION) {
      parts.push(importSection);
      placed = true;
    }
    parts.push(whole);
  }
  if (!placed) parts.push(importSection);
  return { bytes: concatBytes(parts), initial, maximum };
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
