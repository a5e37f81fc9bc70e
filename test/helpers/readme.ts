// The README's code blocks, for tests that load its examples as written
// (with the machine's paths and addresses put in their place).

import { readFileSync } from "node:fs";
import { join } from "node:path";

const README = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");

/** Every fenced block of `lang` ("" for those without one) in the README. */
export function readmeBlocks(lang: string): string[] {
  const blocks: string[] = [];
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of README.split("\n")) {
    if (!line.startsWith("```")) open?.lines.push(line);
    else if (open) {
      if (open.lang === lang) blocks.push(`${open.lines.join("\n")}\n`);
      open = undefined;
    } else open = { lang: line.slice(3).trim(), lines: [] };
  }
  return blocks;
}

/** The one fenced block of `lang` that contains `marker`. */
export function readmeBlock(lang: string, marker: string): string {
  const found = readmeBlocks(lang).filter((block) => block.includes(marker));
  if (found.length !== 1) throw new Error(`README.md has ${found.length} \`\`\`${lang} blocks containing ${JSON.stringify(marker)}, not one`);
  return found[0]!;
}

/** `text` with each key replaced by its value; a key that is not in the text is an error (the example changed). */
export function substitute(text: string, replacements: Record<string, string>): string {
  let out = text;
  for (const [from, to] of Object.entries(replacements)) {
    if (!out.includes(from)) throw new Error(`the example no longer contains ${JSON.stringify(from)}`);
    out = out.replaceAll(from, to);
  }
  return out;
}
