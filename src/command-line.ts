// One command-line argument read as getopt_long and Python's argparse read
// them: an operand, or an option with the value written into it
// (`--name=VALUE`, `-nVALUE`, `-n=VALUE`). `--` ends the options; its
// callers see to that, and to a value given as the next argument.

export interface Option {
  /** As typed: `--workers`, `-w`. */
  name: string;
  /** The value written into the argument itself, if any. */
  inline: string | undefined;
}

/** The option `arg` is, or undefined for an operand (`-` alone is one: stdin, by convention). */
export function optionOf(arg: string): Option | undefined {
  if (!arg.startsWith("-") || arg === "-") return undefined;
  if (arg.startsWith("--")) {
    const eq = arg.indexOf("=");
    return eq < 0 ? { name: arg, inline: undefined } : { name: arg.slice(0, eq), inline: arg.slice(eq + 1) };
  }
  return { name: arg.slice(0, 2), inline: arg.length > 2 ? arg.slice(2).replace(/^=/, "") : undefined };
}
