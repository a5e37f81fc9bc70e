// Pre-initialization, as Wizer does it (github.com/bytecodealliance/wizer):
// a module is instantiated once and its initialization run; then the
// module's mutable globals are rewritten to the values they ended with, and
// its data segments are emptied, so that an instance whose memory is a copy
// of the initialized one starts where initialization ended, without running
// it again (and its start function is dropped, its work done). Pure functions over the module's bytes (core spec §5.5.9 global
// section, §5.5.10 export section, §5.5.14 data section, §5.4.9 constant
// expressions).

import { concatBytes } from "../../src/io/bytes.ts";
import {
  ModuleError,
  readU32,
  replaceSections,
  section,
  SectionId,
  sectionsOf,
  skipName,
  skipSigned,
  writeName,
  writeSigned,
  writeU32,
} from "./binary.ts";

const ValueType = { I32: 0x7f, I64: 0x7e, F32: 0x7d, F64: 0x7c } as const;
const EXPORT_GLOBAL = 0x03;
const END = 0x0b;
/** Names given to the globals exportGlobals exports. */
const EXPORT_PREFIX = "postern:global:";

/** A mutable global the module defines: its index among the defined globals and its type. */
export interface MutableGlobal {
  index: number;
  type: number;
  exportName: string;
}

interface GlobalEntry {
  type: number;
  mutable: boolean;
  /** Offsets of its initializer (a constant expression, END included) in the section. */
  initStart: number;
  initEnd: number;
}

/**
 * The module with every mutable global it defines exported (they are not,
 * usually: a C program's stack pointer is one), so that their values can be
 * read once it has been initialized.
 */
export function exportGlobals(module: Uint8Array): { bytes: Uint8Array; globals: MutableGlobal[] } {
  const sections = sectionsOf(module);
  const importedGlobals = countImportedGlobals(sections.find((s) => s.id === SectionId.IMPORT));
  const globalSection = sections.find((s) => s.id === SectionId.GLOBAL);
  const globals: MutableGlobal[] = [];
  for (const [index, entry] of (globalSection ? readGlobals(globalSection.content) : []).entries()) {
    if (!entry.mutable) continue;
    if (!Object.values(ValueType).includes(entry.type as never)) {
      throw new ModuleError(`global ${index} holds a value of type 0x${entry.type.toString(16)}, which a snapshot cannot keep`);
    }
    globals.push({ index, type: entry.type, exportName: `${EXPORT_PREFIX}${index}` });
  }
  const added = globals.map((g) => concatBytes([writeName(g.exportName), Uint8Array.of(EXPORT_GLOBAL), writeU32(importedGlobals + g.index)]));
  const exportSection = sections.find((s) => s.id === SectionId.EXPORT);
  if (!exportSection) throw new ModuleError("the module exports nothing");
  const [count, entriesAt] = readU32(exportSection.content, 0);
  const content = concatBytes([writeU32(count + added.length), exportSection.content.subarray(entriesAt), ...added]);
  return { bytes: replaceSections(module, new Map([[exportSection, section(SectionId.EXPORT, content)]])), globals };
}

/**
 * The module as it stands after initialization: each mutable global starts
 * with the value it had then (`values`, by MutableGlobal.index), and no data
 * segment writes to memory at instantiation (the memory copied in holds what
 * they wrote, and whatever initialization changed since). An active segment
 * is kept, empty and passive, so that the indices of the others stay valid.
 */
export function preinitialize(module: Uint8Array, values: Map<number, number | bigint>): Uint8Array {
  const sections = sectionsOf(module);
  const replacements = new Map<(typeof sections)[number], Uint8Array | null>();
  const globalSection = sections.find((s) => s.id === SectionId.GLOBAL);
  if (globalSection) {
    const parts: Uint8Array[] = [];
    let copied = 0;
    for (const [index, entry] of readGlobals(globalSection.content).entries()) {
      const value = values.get(index);
      if (!entry.mutable || value === undefined) continue;
      parts.push(globalSection.content.subarray(copied, entry.initStart), constant(entry.type, value));
      copied = entry.initEnd;
    }
    parts.push(globalSection.content.subarray(copied));
    replacements.set(globalSection, section(SectionId.GLOBAL, concatBytes(parts)));
  }
  const dataSection = sections.find((s) => s.id === SectionId.DATA);
  if (dataSection) replacements.set(dataSection, section(SectionId.DATA, withoutActiveData(dataSection.content)));
  // Its effects are in the snapshot: instances must not run it again.
  const start = sections.find((s) => s.id === SectionId.START);
  if (start) replacements.set(start, null);
  return replaceSections(module, replacements);
}

/**
 * The data section with each active segment (kinds 0 and 2, written to
 * memory at instantiation) made an empty passive one (kind 1); passive
 * segments, which memory.init copies at run time, are kept as they are.
 */
function withoutActiveData(content: Uint8Array): Uint8Array {
  const [count, start] = readU32(content, 0);
  const parts: Uint8Array[] = [writeU32(count)];
  let offset = start;
  for (let i = 0; i < count; i++) {
    const [kind, afterKind] = readU32(content, offset);
    let at = afterKind;
    if (kind === 2) at = readU32(content, at)[1]; // memory index
    if (kind === 0 || kind === 2) at = skipConstant(content, at); // offset expression
    else if (kind !== 1) throw new ModuleError(`a data segment of kind ${kind}, which this host cannot read`);
    const [length, bytesAt] = readU32(content, at);
    const end = bytesAt + length;
    parts.push(kind === 1 ? content.subarray(offset, end) : Uint8Array.of(1, 0));
    offset = end;
  }
  return concatBytes(parts);
}

/** A constant expression giving `value` (i32.const, i64.const, f32.const or f64.const). */
function constant(type: number, value: number | bigint): Uint8Array {
  switch (type) {
    case ValueType.I32:
      return concatBytes([Uint8Array.of(0x41), writeSigned(BigInt(value)), Uint8Array.of(END)]);
    case ValueType.I64:
      return concatBytes([Uint8Array.of(0x42), writeSigned(BigInt.asIntN(64, BigInt(value))), Uint8Array.of(END)]);
    case ValueType.F32: {
      const out = new Uint8Array(6);
      out[0] = 0x43;
      new DataView(out.buffer).setFloat32(1, Number(value), true);
      out[5] = END;
      return out;
    }
    case ValueType.F64: {
      const out = new Uint8Array(10);
      out[0] = 0x44;
      new DataView(out.buffer).setFloat64(1, Number(value), true);
      out[9] = END;
      return out;
    }
  }
  throw new ModuleError(`no constant of type 0x${type.toString(16)}`);
}

function readGlobals(content: Uint8Array): GlobalEntry[] {
  const [count, start] = readU32(content, 0);
  const entries: GlobalEntry[] = [];
  let offset = start;
  for (let i = 0; i < count; i++) {
    const type = content[offset]!;
    const mutable = content[offset + 1] === 1;
    const initStart = offset + 2;
    offset = skipConstant(content, initStart);
    entries.push({ type, mutable, initStart, initEnd: offset });
  }
  return entries;
}

/** The offset after a constant expression (§5.4.9, with the extended-const instructions). */
function skipConstant(bytes: Uint8Array, offset: number): number {
  for (;;) {
    const op = bytes[offset++];
    switch (op) {
      case END:
        return offset;
      case 0x41: // i32.const
        offset = skipSigned(bytes, offset, 32);
        break;
      case 0x42: // i64.const
        offset = skipSigned(bytes, offset, 64);
        break;
      case 0x43: // f32.const
        offset += 4;
        break;
      case 0x44: // f64.const
        offset += 8;
        break;
      case 0x23: // global.get
      case 0xd2: // ref.func
        offset = readU32(bytes, offset)[1];
        break;
      case 0xd0: // ref.null t
        offset += 1;
        break;
      case 0x6a: // i32.add, i32.sub, i32.mul, i64.add, i64.sub, i64.mul
      case 0x6b:
      case 0x6c:
      case 0x7c:
      case 0x7d:
      case 0x7e:
        break;
      default:
        throw new ModuleError(`a constant expression holds instruction 0x${(op ?? 0).toString(16)}, which this host cannot read`);
    }
  }
}

/** Globals come first from imports in the index space (§2.5.1): how many there are. */
function countImportedGlobals(imports: { content: Uint8Array } | undefined): number {
  if (!imports) return 0;
  const bytes = imports.content;
  const [count, start] = readU32(bytes, 0);
  let offset = start;
  let globals = 0;
  for (let i = 0; i < count; i++) {
    offset = skipName(bytes, skipName(bytes, offset));
    const kind = bytes[offset++];
    switch (kind) {
      case 0x00: // a function: its type index
        offset = readU32(bytes, offset)[1];
        break;
      case 0x01: // a table: reference type, limits
        offset = skipLimits(bytes, offset + 1);
        break;
      case 0x02: // a memory: limits
        offset = skipLimits(bytes, offset);
        break;
      case 0x03: // a global: value type, mutability
        offset += 2;
        globals++;
        break;
      default:
        throw new ModuleError(`an import of kind 0x${(kind ?? 0).toString(16)}, which this host cannot read`);
    }
  }
  return globals;
}

function skipLimits(bytes: Uint8Array, offset: number): number {
  const flags = bytes[offset]!;
  offset = readU32(bytes, offset + 1)[1];
  return flags & 1 ? readU32(bytes, offset)[1] : offset;
}
