// Every postern.toml key has a doc in its schema (the reference is made of
// them), and the documentation's links lead somewhere: every relative link
// names a file of the repository, and every #fragment a heading of that file.

import { existsSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, test } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { PATH_FIELD, TOP_LEVEL_SCHEMA, type Field, type Schema } from "../src/config.ts";
import { nestedKeyPrefix, tableSchema } from "../src/config-schema.ts";
import { DOC_FILES, docText } from "./helpers/readme.ts";

const REPO = join(import.meta.dirname, "..");

/** Every key of a schema, a sub-table's as `table.key` (`tables[].key`), with its field. */
function fields(schema: Schema, prefix = ""): [string, Field][] {
  return Object.entries(schema).flatMap(([key, field]): [string, Field][] => {
    const nested = tableSchema(field);
    return nested ? [[prefix + key, field], ...fields(nested, nestedKeyPrefix(field, prefix + key))] : [[prefix + key, field]];
  });
}

// The reference (docs/config.md, postern.schema.json) is made of these docs:
// test/config-reference.test.ts checks that it is current.
describe("every key has a doc", () => {
  const all: [string, Field][] = [
    ...fields(TOP_LEVEL_SCHEMA),
    ["routes[].path", PATH_FIELD],
    ...Object.entries(gatewaySchemas).flatMap(([gateway, schema]) => fields(schema.fields, `${gateway} route: `)),
  ];
  test.each(all)("%s", (_, field) => expect(field.doc.trim()).not.toBe(""));
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

test("the README links to every page of docs/", () => {
  const readme = docText("README.md");
  expect(DOC_FILES.filter((file) => file !== "README.md" && !readme.includes(`](${file})`) && !readme.includes(`](${file}#`))).toEqual([]);
});

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

// docs/concurrency.md's table gives the defaults of the four concurrency
// keys beside what each bounds: they are the schemas' defaults.
test("the table of concurrency keys gives the schemas' defaults", () => {
  const rows = new Map(
    docText("docs/concurrency.md")
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .map((line) => [/^\| `([a-z_.]+)`/.exec(line)![1]!, line.split(" | ")[3]!] as const),
  );
  const spawn = gatewaySchemas.fastcgi!.fields.spawn!.type as { table: Schema };
  const defaults: [string, unknown][] = [
    ["max_procs", gatewaySchemas.cgi!.fields.max_procs!.default],
    ["threads", gatewaySchemas.wasi!.fields.threads!.default],
    ["spawn.procs", spawn.table.procs!.default],
    ["max_conns", gatewaySchemas.uwsgi!.fields.max_conns!.default],
    ["max_conns", gatewaySchemas.scgi!.fields.max_conns!.default],
  ];
  expect(gatewaySchemas.fastcgi!.fields.max_conns!.default).toBeUndefined();
  for (const [key, value] of defaults) expect(rows.get(key), key).toContain(`\`${value}\``);
});
