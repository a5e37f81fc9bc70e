// The documentation documents every postern.toml key that exists, and its
// links lead somewhere: every relative link names a file of the repository,
// and every #fragment a heading of that file.

import { existsSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, test } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { TOP_LEVEL_SCHEMA, type Schema } from "../src/config.ts";
import { DOC_FILES, docText } from "./helpers/readme.ts";

const REPO = join(import.meta.dirname, "..");
const docs = DOC_FILES.map(docText).join("\n");

function keys(schema: Schema): string[] {
  return Object.entries(schema).flatMap(([key, field]) =>
    typeof field.type === "object" ? [key, ...keys(field.type.table)] : [key],
  );
}

describe("config reference", () => {
  test.each([...keys(TOP_LEVEL_SCHEMA), "routes", "path", "gateway"])("documents `%s`", (key) => {
    expect(docs).toContain(`| \`${key}\` |`);
  });
  for (const [gateway, schema] of Object.entries(gatewaySchemas)) {
    test(`documents the ${gateway} gateway`, () => expect(docs).toContain(`### \`gateway = "${gateway}"\``));
    test.each(keys(schema.fields))(`documents ${gateway} key \`%s\``, (key) => {
      expect(docs.includes(`| \`${key}\` |`) || docs.includes(`\`${key}\` (`)).toBe(true);
    });
  }
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, "").replaceAll(" ", "-");
}

/** The anchors of a Markdown file's headings (outside fenced blocks). */
function anchors(text: string): Set<string> {
  const found = new Set<string>();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = /^#+ (.*)$/.exec(line);
    if (heading && !fenced) found.add(anchor(heading[1]!));
  }
  return found;
}

describe.each(DOC_FILES)("links of %s", (file) => {
  test("lead to a file of the repository and a heading of it", () => {
    const broken: string[] = [];
    for (const [, target] of docText(file).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [path, fragment] = target!.split("#") as [string, string | undefined];
      const resolved = path === "" ? file : normalize(join(dirname(file), path));
      if (!existsSync(join(REPO, resolved))) broken.push(`${target}: no file ${resolved}`);
      else if (fragment !== undefined && resolved.endsWith(".md") && !anchors(docText(resolved)).has(fragment)) broken.push(`${target}: no heading #${fragment} in ${resolved}`);
    }
    expect(broken).toEqual([]);
  });
});
