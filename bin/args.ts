// A subcommand's arguments, read as POSIX and GNU tools read them:
// `--name VALUE`, `--name=VALUE`, `-n VALUE`, `-nVALUE`, a list flag
// repeated, `--` ending the options. `-h`/`--help` where a flag may stand
// asks for the command's usage. An unknown flag is named with the nearest
// known one (as git and cargo do), not answered with the whole usage.

import { optionOf } from "../src/command-line.ts";

/** A command line that cannot be run as written: exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface Flag {
  /** Every spelling, long and short: ["--listen", "--bind", "-b"]. */
  names: readonly string[];
  /** A switch takes no value. */
  switch?: true;
  /** Repeated, it adds to a list. */
  multiple?: true;
}

export type FlagSpec = Record<string, Flag>;

type Value<F extends Flag> = F extends { switch: true } ? boolean : F extends { multiple: true } ? string[] : string;

export interface Parsed<S extends FlagSpec> {
  values: { [K in keyof S]?: Value<S[K]> };
  /** The spelling the user typed for each flag given, for messages: "-b". */
  typed: { [K in keyof S]?: string };
  positionals: string[];
  help: boolean;
}

/** Reads `argv` against `spec`; throws UsageError naming the flag. */
export async function parseFlags<S extends FlagSpec>(argv: readonly string[], spec: S): Promise<Parsed<S>> {
  const values: Record<string, string | string[] | boolean> = {};
  const typed: Record<string, string> = {};
  const positionals: string[] = [];
  const byName = new Map(Object.entries(spec).flatMap(([key, flag]) => flag.names.map((name) => [name, { key, flag }] as const)));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const option = optionOf(arg);
    if (!option) {
      positionals.push(arg);
      continue;
    }
    const { name, inline } = option;
    if (name === "-h" || name === "--help") return { values: {}, typed: {}, positionals: [], help: true } as Parsed<S>;
    const found = byName.get(name);
    if (!found) throw await unknownFlag(name, [...byName.keys(), "--help"]);
    const { key, flag } = found;
    typed[key] = name;
    if (flag.switch) {
      if (inline !== undefined) throw new UsageError(`${name} takes no value`);
      values[key] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    if (!flag.multiple) {
      if (values[key] !== undefined) throw new UsageError(`${name} is given twice`);
      values[key] = value;
    } else values[key] = [...((values[key] as string[] | undefined) ?? []), value];
  }
  return { values, typed, positionals, help: false } as Parsed<S>;
}

async function unknownFlag(name: string, known: string[]): Promise<UsageError> {
  // Loaded only here: a command line that reads cleanly needs none of the config code.
  const { suggest } = await import("../src/config-schema.ts");
  return new UsageError(`unknown option ${name}${suggest(name, known)}`);
}
