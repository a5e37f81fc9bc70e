// The value types of postern.toml and the validator that checks a parsed TOML
// table against a schema: unknown keys, old names, types, units, bounds,
// defaults (DESIGN.md "postern.toml"); and the TypeScript types a schema
// gives the library's options. Gateways describe their route keys with it.

import { AddressError, parseAddress } from "./address.ts";
import type { KeyPath } from "./config-locate.ts";

export type FieldType =
  | "string"
  | "boolean"
  | "integer"
  | "string[]" // a string or an array of strings → string[]
  | "size" // bytes: integer, or "512", "64k", "16m", "1g" (binary units; "kb", "KiB" too) → number
  | "duration" // seconds as a number, or "500ms", "30s", "2m", "1h" → number of milliseconds
  | "address[]" // one or more backend addresses (src/address.ts) → string[] as written
  | "env" // a table of string values → Record<string, string>
  | { table: Schema } // an inline table or sub-table, validated recursively
  | { tables: Schema }; // an array of tables (`[[key]]`), each validated like a { table }

export interface Field {
  type: FieldType;
  required?: boolean;
  /** Used when the key is absent, given as the validated value (bytes, ms, string[]). */
  default?: unknown;
  /** Bounds for integer, size (bytes) and duration (ms). */
  min?: number;
  max?: number;
  /** Allowed values for string and string[]. */
  oneOf?: readonly string[];
  /** An old name of the key this names: its value is taken as that key's, and both at once is an error. */
  aliasOf?: string;
  /** A string key's old boolean values, still taken: `true` means the first string, `false` the second. */
  booleans?: readonly [whenTrue: string, whenFalse: string];
  /**
   * A rule a string (each string of a string[]) or an integer must follow
   * beyond its type, such as a host pattern, a regular expression or a
   * status code: why it is wrong, or undefined. The error names that value's
   * key and index. (A method, so that a check of strings alone fits.)
   */
  check?(value: string | number): string | undefined;
  doc: string;
}

export type Schema = Record<string, Field>;

// The TypeScript types of a schema declared `as const satisfies Schema`:
// what a caller writes (`fastcgi({ ... })`) and what validateTable gives
// back, so that a key added to a schema is a key of both types.

/** The values a field's `oneOf` allows, or any string. */
type Choice<F extends Field> = F extends { oneOf: readonly (infer V extends string)[] } ? V : string;

/** What a caller may write for a field: units as numbers or strings, one string for a list. */
type InputValue<F extends Field> = F["type"] extends { table: infer S extends Schema }
  ? InputOf<S>
  : F["type"] extends { tables: infer S extends Schema }
    ? readonly InputOf<S>[]
    : F["type"] extends "string"
    ? Choice<F> | (F extends { booleans: readonly string[] } ? boolean : never)
    : F["type"] extends "boolean"
      ? boolean
      : F["type"] extends "integer"
        ? number
        : F["type"] extends "string[]"
          ? Choice<F> | readonly Choice<F>[]
          : F["type"] extends "size" | "duration"
            ? number | string
            : F["type"] extends "address[]"
              ? string | readonly string[]
              : F["type"] extends "env"
                ? Readonly<Record<string, string>>
                : never;

/** A field's validated value: sizes in bytes, durations in ms, lists as arrays. */
type ValidValue<F extends Field> = F["type"] extends { table: infer S extends Schema }
  ? ValidatedOf<S>
  : F["type"] extends { tables: infer S extends Schema }
    ? ValidatedOf<S>[]
    : F["type"] extends "string"
    ? Choice<F>
    : F["type"] extends "boolean"
      ? boolean
      : F["type"] extends "integer" | "size" | "duration"
        ? number
        : F["type"] extends "string[]"
          ? Choice<F>[]
          : F["type"] extends "address[]"
            ? string[]
            : F["type"] extends "env"
              ? Record<string, string>
              : never;

type KeysWhere<S extends Schema, Condition> = { [K in keyof S]: S[K] extends Condition ? K : never }[keyof S];
/** T's keys as one object type, as an editor shows it (not `Omit<...> & {...}`); a key's JSDoc is kept. */
export type Flat<T> = { [K in keyof T]: T[K] } & {};

/** The keys a caller writes: the required ones required, the rest optional. */
export type InputOf<S extends Schema> = Flat<
  { -readonly [K in KeysWhere<S, { required: true }>]: InputValue<S[K]> } & {
    -readonly [K in Exclude<keyof S, KeysWhere<S, { required: true }>>]?: InputValue<S[K]>;
  }
>;

/** What validateTable returns: keys with a default always there, old names (aliasOf) gone. */
export type ValidatedOf<S extends Schema> = Flat<
  { -readonly [K in KeysWhere<S, { required: true } | { default: unknown }>]: ValidValue<S[K]> } & {
    -readonly [K in Exclude<keyof S, KeysWhere<S, { required: true } | { default: unknown } | { aliasOf: string }>>]?: ValidValue<S[K]>;
  }
>;

export interface GatewaySchema {
  fields: Schema;
  /** Cross-field rules (impossible combinations); returns the key to blame and the message, or undefined. */
  check?(options: Record<string, unknown>): { key: string; message: string } | undefined;
}

/** A validation failure: `path` is the key it names, `at` the key whose line to show. */
export class SchemaError extends Error {
  readonly path: KeyPath;
  readonly at: KeyPath;
  constructor(path: KeyPath, message: string, at: KeyPath = path) {
    super(message);
    this.name = "SchemaError";
    this.path = path;
    this.at = at;
  }
}

export interface TableContext {
  /** Who the keys belong to, for "unknown key" messages: `gateway "fastcgi"`. */
  owner?: string;
  /** Keys the caller validates itself: allowed, skipped, offered as suggestions. */
  handled?: readonly string[];
}

/** Validates `input` against `schema`, in the order the keys are written; fills defaults. */
export function validateTable(
  schema: Schema,
  input: Record<string, unknown>,
  path: KeyPath,
  context: TableContext = {},
): Record<string, unknown> {
  const handled = context.handled ?? [];
  const known = [...handled, ...Object.keys(schema)];
  const out: Record<string, unknown> = {};
  const renamed: Renamed[] = [];
  for (const [key, value] of Object.entries(input)) {
    // An options object written in code says `{ user: opts.user }` for a key
    // it may leave unset, and its type (an optional key) allows undefined:
    // absent, as in TOML, which has no such value.
    if (handled.includes(key) || value === undefined) continue;
    if (!Object.hasOwn(schema, key)) {
      const owner = context.owner ? ` for ${context.owner}` : "";
      const hint = suggest(key, known) || `; known keys: ${known.join(", ")}`;
      throw new SchemaError([...path, key], `unknown key${owner}${hint}`);
    }
    const field = schema[key]!;
    const name = field.aliasOf ?? key;
    if (name !== key) {
      if (input[name] !== undefined) throw new SchemaError([...path, key], `the old name of \`${name}\`, given too: write only \`${name}\``);
      renamed.push({ old: key, key: name });
    }
    out[name] = validateValue(field, value, [...path, key]);
  }
  // Not a key: seen by renamedKeys() only, never copied with the options.
  if (renamed.length > 0) Object.defineProperty(out, RENAMED, { value: renamed });
  for (const [key, field] of Object.entries(schema)) {
    if (Object.hasOwn(out, key)) continue;
    if (field.required) throw new SchemaError([...path, key], `missing required key (${field.doc})`, path);
    if (field.default !== undefined) out[key] = structuredClone(field.default);
  }
  return out;
}

/** A key written by its old name (Field.aliasOf). */
export interface Renamed {
  old: string;
  key: string;
}

const RENAMED = Symbol("renamed keys");

/** The keys a validated table was written with by their old names, for a warning. */
export function renamedKeys(options: Record<string, unknown>): readonly Renamed[] {
  return (options as { [RENAMED]?: Renamed[] })[RENAMED] ?? [];
}

const ADDRESS_FORMS = "host:port, tcp://host:port, [::1]:port or unix:/path";

/** Checks one value against its field and returns it in its validated form. */
export function validateValue(field: Field, value: unknown, path: KeyPath): unknown {
  const type = field.type;
  if (typeof type === "object") return "table" in type ? subTable(type.table, value, path) : subTables(type.tables, value, path);
  switch (type) {
    case "string":
      if (field.booleans && typeof value === "boolean") return field.booleans[value ? 0 : 1];
      return checked(field, choice(field, text(value, path), path), path);
    case "boolean":
      if (typeof value !== "boolean") throw mismatch(path, "a boolean (true or false)", value);
      return value;
    case "integer":
      if (!Number.isInteger(value)) throw mismatch(path, "an integer", value);
      return checked(field, bounded(field, value as number, path, value, ""), path);
    case "string[]":
      return list(value, path, "a string or an array of strings").map(([v, at]) => checked(field, choice(field, text(v, at), at), at));
    case "size":
      return bounded(field, size(value, path), path, value, " bytes");
    case "duration":
      return bounded({ ...field, max: Math.min(field.max ?? MAX_DURATION_MS, MAX_DURATION_MS) }, duration(value, path), path, value, " ms");
    case "address[]":
      return addresses(value, path);
    case "env":
      if (!isTable(value)) throw mismatch(path, 'a table of strings, such as { NAME = "value" }', value);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, text(v, [...path, k])]));
  }
}

/** The schema of a { table } or { tables } field's tables, else undefined. */
export function tableSchema(field: Field): Schema | undefined {
  const type = field.type;
  if (typeof type !== "object") return undefined;
  return "table" in type ? type.table : type.tables;
}

/** How the reference names a key of a field's tables: `client.header_timeout`, `rewrites[].match`. */
export function nestedKeyPrefix(field: Field, name: string): string {
  return typeof field.type === "object" && "tables" in field.type ? `${name}[].` : `${name}.`;
}

export function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** What a TOML value is, for "found ..." in messages. */
export function describe(value: unknown): string {
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  if (typeof value === "number") return `${Number.isInteger(value) ? "integer" : "float"} ${value}`;
  if (typeof value === "boolean") return `boolean ${value}`;
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date-time";
  // Only options written in code can hold these.
  if (value === null || value === undefined) return String(value);
  return "a table";
}

/** `; did you mean "backend"?` when a candidate is within edit distance 2, else "". */
export function suggest(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = distance(word, candidate);
    if (d < bestDistance && d < word.length) [best, bestDistance] = [candidate, d];
  }
  return best === undefined ? "" : `; did you mean ${JSON.stringify(best)}?`;
}

function mismatch(path: KeyPath, expected: string, found: unknown): SchemaError {
  return new SchemaError(path, `expected ${expected}, found ${describe(found)}`);
}

function subTable(schema: Schema, value: unknown, path: KeyPath): Record<string, unknown> {
  if (!isTable(value)) throw mismatch(path, "a table", value);
  return validateTable(schema, value, path);
}

/** `[[key]]` tables (or, written in code or inline, an array of tables): each checked, its errors at `key[N].name`. */
function subTables(schema: Schema, value: unknown, path: KeyPath): Record<string, unknown>[] {
  const key = path.at(-1);
  if (!Array.isArray(value)) throw mismatch(path, `an array of tables ([[${String(key)}]])`, value);
  return value.map((item, i) => subTable(schema, item, [...path, i]));
}

function checked<T extends string | number>(field: Field, value: T, path: KeyPath): T {
  const problem = field.check?.(value);
  if (problem !== undefined) throw new SchemaError(path, problem);
  return value;
}

function text(value: unknown, path: KeyPath): string {
  if (typeof value !== "string") throw mismatch(path, "a string", value);
  return value;
}

function choice(field: Field, value: string, path: KeyPath): string {
  if (field.oneOf && !field.oneOf.includes(value)) {
    const allowed = field.oneOf.map((v) => JSON.stringify(v)).join(", ");
    const hint = suggest(value, field.oneOf);
    throw new SchemaError(path, `expected one of ${allowed}, found ${JSON.stringify(value)}${hint}`);
  }
  return value;
}

function bounded(field: Field, value: number, path: KeyPath, written: unknown, unit: string): number {
  if (field.min !== undefined && value < field.min) {
    throw new SchemaError(path, `must be at least ${field.min}${unit}, found ${describe(written)}`);
  }
  if (field.max !== undefined && value > field.max) {
    throw new SchemaError(path, `must be at most ${field.max}${unit}, found ${describe(written)}`);
  }
  return value;
}

/** A value that may be one item or an array of them, each with the path to blame. */
function list(value: unknown, path: KeyPath, expected: string): [unknown, KeyPath][] {
  if (Array.isArray(value)) return value.map((v, i) => [v, [...path, i]]);
  if (typeof value === "string") return [[value, path]];
  throw mismatch(path, expected, value);
}

function addresses(value: unknown, path: KeyPath): string[] {
  const items = list(value, path, `an address (${ADDRESS_FORMS}) or an array of them`);
  if (items.length === 0) throw new SchemaError(path, "expected at least one address, found an empty array");
  return items.map(([v, at]) => {
    if (typeof v !== "string") throw mismatch(at, `an address (${ADDRESS_FORMS})`, v);
    try {
      parseAddress(v);
    } catch (error) {
      if (error instanceof AddressError) throw new SchemaError(at, error.message);
      throw error;
    }
    return v;
  });
}

const SIZE = /^(\d+)\s*(?:([kmg])(?:i?b)?|b)?$/i;
const SIZE_FORMS = 'a size (bytes as an integer, or a string such as "512", "64k", "16m", "1g")';

function size(value: unknown, path: KeyPath): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  const match = typeof value === "string" ? SIZE.exec(value.trim()) : null;
  const bytes = match ? Number(match[1]) * 1024 ** " kmg".indexOf((match[2] ?? " ").toLowerCase()) : NaN;
  if (!Number.isSafeInteger(bytes)) throw mismatch(path, SIZE_FORMS, value);
  return bytes;
}

/**
 * The longest timer delay (2^31 - 1 ms, about 24.8 days): a longer one given
 * to setTimeout, in Node, Deno and Bun alike (HTML's timers), fires at once,
 * so a timeout set "to never" would fire at once instead. Every duration key
 * is held to it.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/i;
const MS_PER_UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_FORMS = 'a duration (seconds as a number, or a string such as "500ms", "30s", "2m", "1h")';

function duration(value: unknown, path: KeyPath): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return Math.round(value * 1000);
  const match = typeof value === "string" ? DURATION.exec(value.trim()) : null;
  if (!match) throw mismatch(path, DURATION_FORMS, value);
  return Math.round(Number(match[1]) * MS_PER_UNIT[match[2]!.toLowerCase()]!);
}

/** Levenshtein distance, for did-you-mean suggestions. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
