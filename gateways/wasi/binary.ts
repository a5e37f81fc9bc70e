// Reading and writing the WebAssembly binary format (core spec §5), as much
// as the module rewrites here need: LEB128 integers (§5.2.2), sections
// (§5.5.2), names (§5.2.4). Pure functions over bytes.

import { concatBytes } from "../../src/io/bytes.ts";

export const SectionId = {
  CUSTOM: 0,
  TYPE: 1,
  IMPORT: 2,
  FUNCTION: 3,
  TABLE: 4,
  MEMORY: 5,
  GLOBAL: 6,
  EXPORT: 7,
  START: 8,
  DATA: 11,
} as const;

/** A module this host cannot read or rewrite. */
export class ModuleError extends Error {}

export interface Section {
  id: number;
  /** Offsets of the whole section in the module, id byte included. */
  start: number;
  end: number;
  content: Uint8Array;
}

/** The module's sections, in order, after the 8-byte header (§5.5.16). */
export function sectionsOf(module: Uint8Array): Section[] {
  const sections: Section[] = [];
  for (let offset = 8; offset < module.byteLength; ) {
    const [size, sizeEnd] = readU32(module, offset + 1);
    const end = sizeEnd + size;
    if (end > module.byteLength) throw new ModuleError("malformed module: a section runs past its end");
    sections.push({ id: module[offset]!, start: offset, end, content: module.subarray(sizeEnd, end) });
    offset = end;
  }
  return sections;
}

/** A section with its id and size. */
export function section(id: number, content: Uint8Array): Uint8Array {
  return concatBytes([Uint8Array.of(id), writeU32(content.byteLength), content]);
}

/** The module with some sections replaced (by their new bytes, or dropped with null). */
export function replaceSections(module: Uint8Array, replacements: Map<Section, Uint8Array | null>): Uint8Array {
  const parts: Uint8Array[] = [module.subarray(0, 8)];
  for (const s of sectionsOf(module)) {
    const replacement = [...replacements].find(([old]) => old.start === s.start)?.[1];
    if (replacement === undefined) parts.push(module.subarray(s.start, s.end));
    else if (replacement !== null) parts.push(replacement);
  }
  return concatBytes(parts);
}

/** An unsigned LEB128 u32 and the offset after it. */
export function readU32(bytes: Uint8Array, offset: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[offset++];
    // Five bytes at most, the fifth with 4 bits of value (§5.2.2).
    if (byte === undefined || shift > 28 || (shift === 28 && (byte & 0x70) !== 0)) throw new ModuleError("malformed module");
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, offset];
    shift += 7;
  }
}

export function writeU32(value: number): Uint8Array {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return Uint8Array.from(out);
}

/** The offset after a signed LEB128 integer of at most `bits` bits. */
export function skipSigned(bytes: Uint8Array, offset: number, bits: 32 | 64): number {
  for (let read = 0; ; read += 7) {
    const byte = bytes[offset++];
    if (byte === undefined || read >= bits) throw new ModuleError("malformed module");
    if ((byte & 0x80) === 0) return offset;
  }
}

/** A signed LEB128 integer (i32.const, i64.const immediates). */
export function writeSigned(value: bigint): Uint8Array {
  const out: number[] = [];
  for (;;) {
    const byte = Number(value & 0x7fn);
    value >>= 7n;
    const done = (value === 0n && (byte & 0x40) === 0) || (value === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return Uint8Array.from(out);
  }
}

/** A name: its UTF-8 length, then its bytes. */
export function writeName(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  return concatBytes([writeU32(bytes.byteLength), bytes]);
}

/** The offset after a name. */
export function skipName(bytes: Uint8Array, offset: number): number {
  const [length, start] = readU32(bytes, offset);
  return start + length;
}
