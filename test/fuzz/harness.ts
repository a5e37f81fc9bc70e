// What every decoder fuzz target shares: the target's shape, inputs built
// from a protocol's own pieces mixed with random bytes, re-chunking, and the
// check that a decoder fails only with its declared error type.

import fc from "fast-check";
import { concatBytes } from "../../src/io/bytes.ts";

/** One property over one decoder; `share` is its part of its family's input budget. */
export interface FuzzTarget {
  name: string;
  share: number;
  property: () => fc.IProperty<any> | fc.IAsyncProperty<any>;
}

export interface FuzzFamily {
  family: string;
  targets: FuzzTarget[];
}

/** Inputs per family in `npm test`: fixed seed, so a failure reproduces (fast-check prints seed and path too). */
export const TEST_RUNS = 10_000;
export const TEST_SEED = Number(process.env.FUZZ_SEED ?? 424242);

/** The inputs of `total` that a target takes, by its share of its family (shares add up to 1). */
export function runsFor(target: FuzzTarget, total: number): number {
  return Math.max(1, Math.round(target.share * total));
}

/** Runs `decode`; a throw is its outcome when `expected` accepts it, and fails the property otherwise. */
export function outcome<T>(decode: () => T, expected: (err: unknown) => boolean): { value: T } | { error: string } {
  try {
    return { value: decode() };
  } catch (err) {
    if (!expected(err)) throw new UntypedError(err);
    return { error: (err as Error).message };
  }
}

/** The events a push decoder hands over while `run` feeds it, then the declared error that stopped it, if any. */
export function emitted<E>(run: (emit: (event: E) => void) => void, expected: (err: unknown) => boolean): { events: E[]; error?: string } {
  const events: E[] = [];
  const result = outcome(() => run((event) => events.push(event)), expected);
  return "error" in result ? { events, error: result.error } : { events };
}

/** A decoder threw something it does not declare: the fuzzing's finding. */
export class UntypedError extends Error {
  constructor(readonly thrown: unknown) {
    super(`undeclared error: ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)}`, { cause: thrown });
  }
}

/** Splits bytes at the given cut points (any order, repeats, clamped); each chunk a copy, as a socket hands them over. */
export function rechunk(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(bytes.length, c))))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.slice(from, p));
    from = p;
  }
  return chunks;
}

/** Cut points for re-chunking: none, a few at random, or every byte (the worst case for a state machine). */
export const cuts: fc.Arbitrary<number[] | "every-byte"> = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.nat({ max: 4096 }), { maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constant("every-byte" as const) },
);

/** The chunks `how` says; "every-byte" splits the first 4 KiB byte by byte (bounded work), the rest stays one chunk. */
export function chunked(bytes: Uint8Array, how: number[] | "every-byte"): Uint8Array[] {
  if (how === "every-byte") return rechunk(bytes, Array.from({ length: Math.min(bytes.length, 4096) }, (_, i) => i + 1));
  return rechunk(bytes, how);
}

/** What a push decoder makes of any bytes in one chunk, it makes of them in any chunks. */
export function sameInAnyChunks(input: fc.Arbitrary<Uint8Array>, decode: (chunks: Uint8Array[]) => unknown): fc.IProperty<[Uint8Array, number[] | "every-byte"]> {
  return fc.property(input, cuts, (bytes, how) => expectSame("one chunk and many", decode([bytes]), decode(chunked(bytes, how))));
}

/** A stream of `pieces` (records, frames, garbage between them), sometimes cut short anywhere. */
export function piecesCutShort(piece: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.array(piece, { maxLength: 8 }), fc.option(fc.nat(), { nil: undefined })).map(([pieces, cut]) => {
    const bytes = concatBytes(pieces).slice();
    return cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
  });
}

export const latin1 = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);

/**
 * Bytes made of a protocol's pieces (`words`, as latin1 text) and random
 * bytes in between: random bytes alone rarely get past a decoder's first
 * check, pieces alone never try what lies between them.
 */
export function wordBytes(words: readonly string[], maxPieces = 24): fc.Arbitrary<Uint8Array> {
  const piece = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...words).map(latin1) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }) },
  );
  return fc.array(piece, { maxLength: maxPieces }).map((parts) => concatBytes(parts).slice());
}

/** Text made of `words` and random characters between them. */
export function wordText(words: readonly string[], maxPieces = 16): fc.Arbitrary<string> {
  const piece = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...words) }, { weight: 1, arbitrary: fc.string({ maxLength: 4, unit: "binary" }) });
  return fc.array(piece, { maxLength: maxPieces }).map((parts) => parts.join(""));
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Fails the property with both sides shown. */
export function expectSame(what: string, a: unknown, b: unknown): void {
  const left = JSON.stringify(a, bytesAsHex);
  const right = JSON.stringify(b, bytesAsHex);
  if (left !== right) throw new Error(`${what} differ:\n  ${left}\n  ${right}`);
}

function bytesAsHex(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("") : value;
}

export function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}
