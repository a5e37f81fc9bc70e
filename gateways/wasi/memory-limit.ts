// Rewrites of a module's linear memory, pure functions over its bytes
// (WebAssembly core spec §5.5 "Modules"):
// - limitMemory caps it by rewriting the maximum in its memory section
//   (§5.5.8, §5.3.8 "Limits"), so that memory.grow past the cap fails inside
//   the engine itself, whatever the module does between host calls;
// - importMemory turns the memory the module defines into one it imports
//   (§5.5.5), so that the host can hand each instance a memory it already has:
//   allocating a fresh memory is most of what instantiating costs.

import { concatBytes } from "../../src/io/bytes.ts";
import { ModuleError, readU32, replaceSections, section, SectionId, sectionsOf, writeName, writeU32 } from "./binary.ts";

const PAGE = 65536;
/** Where the imported memory comes from. */
export const MEMORY_IMPORT = { module: "env", name: "memory" } as const;

/**
 * The module's bytes with every defined memory's maximum at most
 * `maxBytes` (rounded down to whole pages). Throws ModuleError when a
 * memory's minimum is already larger, or for a shared memory (threads).
 */
export function limitMemory(module: Uint8Array, maxBytes: number): Uint8Array {
  const maxPages = Math.floor(maxBytes / PAGE);
  const memory = sectionsOf(module).find((s) => s.id === SectionId.MEMORY);
  if (!memory) return module; // no memory of its own
  return replaceSections(module, new Map([[memory, section(SectionId.MEMORY, rewriteMemories(memory.content, maxPages))]]));
}

function rewriteMemories(section: Uint8Array, maxPages: number): Uint8Array {
  const [count, start] = readU32(section, 0);
  // With several memories (multi-memory), the cap would hold for each, not in all.
  if (count > 1) throw new ModuleError("the module defines several memories, which this host does not run");
  const parts: Uint8Array[] = [writeU32(count)];
  let offset = start;
  for (let i = 0; i < count; i++) {
    const flags = section[offset]!;
    if (flags & 0b10) throw new ModuleError("the module's memory is shared (threads), which this host does not run");
    if (flags & 0b100) throw new ModuleError("the module's memory is 64-bit, which this host does not run");
    const [min, minEnd] = readU32(section, offset + 1);
    let max = maxPages;
    offset = minEnd;
    if (flags & 1) {
      const [declared, maxEnd] = readU32(section, offset);
      max = Math.min(declared, maxPages);
      offset = maxEnd;
    }
    if (min > maxPages) {
      throw new ModuleError(`the module needs ${min * PAGE} bytes of memory at start, over max_memory (${maxPages * PAGE})`);
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
  const sections = sectionsOf(module);
  const memory = sections.find((s) => s.id === SectionId.MEMORY);
  if (!memory) return null;
  const [count, limitsAt] = readU32(memory.content, 0);
  if (count !== 1 || memory.content[limitsAt] !== 1) return null;
  const [initial, minEnd] = readU32(memory.content, limitsAt + 1);
  const [maximum] = readU32(memory.content, minEnd);
  // importdesc 0x02: a memory, with its limits (§5.5.5).
  const entry = concatBytes([writeName(MEMORY_IMPORT.module), writeName(MEMORY_IMPORT.name), Uint8Array.of(2, 1), writeU32(initial), writeU32(maximum)]);
  const imports = sections.find((s) => s.id === SectionId.IMPORT);
  if (imports) {
    const [n, entriesAt] = readU32(imports.content, 0);
    const content = concatBytes([writeU32(n + 1), imports.content.subarray(entriesAt), entry]);
    return { bytes: replaceSections(module, new Map([[imports, section(SectionId.IMPORT, content)], [memory, null]])), initial, maximum };
  }
  // Without an import section, the new one goes after the type section (§5.5.2 order).
  const importSection = section(SectionId.IMPORT, concatBytes([writeU32(1), entry]));
  const parts: Uint8Array[] = [module.subarray(0, 8)];
  let placed = false;
  for (const s of sections) {
    if (s === memory) continue;
    if (!placed && s.id !== SectionId.TYPE && s.id !== SectionId.CUSTOM) {
      parts.push(importSection);
      placed = true;
    }
    parts.push(module.subarray(s.start, s.end));
  }
  if (!placed) parts.push(importSection);
  return { bytes: concatBytes(parts), initial, maximum };
}
