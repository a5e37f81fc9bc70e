// The documentation's code blocks (README.md and every docs/**/*.md), for
// tests that load its examples as written (with the machine's paths and
// addresses put in their place).

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const REPO = join(import.meta.dirname, "../..");

/** README.md and every Markdown file under docs/, as paths relative to the repository. */
export const DOC_FILES: readonly string[] = [
  "README.md",
  ...readdirSync(join(REPO, "docs"), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`)
    .sort(),
];

/** The text of one documentation file, by its path relative to the repository. */
export function docText(file: string): string {
  return readFileSync(join(REPO, file), "utf8");
}

/** The `## heading` section of `file`, up to the next heading of that level or higher. */
export function docSection(file: string, heading: string): string {
  const text = docText(file);
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${file} has no section ${JSON.stringify(heading)}`);
  const level = heading.slice(0, heading.indexOf(" ") + 1);
  const end = text.slice(start + 1).search(new RegExp(`\\n#{1,${level.length - 1}} `));
  return end < 0 ? text.slice(start) : text.slice(start, start + 1 + end);
}

/** Every fenced block of `lang` ("" for those without one) in the documentation. */
export function readmeBlocks(lang: string): string[] {
  const blocks: string[] = [];
  for (const file of DOC_FILES) {
    let open: { lang: string; lines: string[] } | undefined;
    for (const line of docText(file).split("\n")) {
      if (!line.startsWith("```")) open?.lines.push(line);
      else if (open) {
        if (open.lang === lang) blocks.push(`${open.lines.join("\n")}\n`);
        open = undefined;
      } else open = { lang: line.slice(3).trim(), lines: [] };
    }
  }
  return blocks;
}

/** The one fenced block of `lang` in the documentation that contains `marker`. */
export function readmeBlock(lang: string, marker: string): string {
  const found = readmeBlocks(lang).filter((block) => block.includes(marker));
  if (found.length !== 1) throw new Error(`the documentation has ${found.length} \`\`\`${lang} blocks containing ${JSON.stringify(marker)}, not one`);
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
