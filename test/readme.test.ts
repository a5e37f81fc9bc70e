// The README documents every postern.toml key that exists.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { TOP_LEVEL_SCHEMA, type Schema } from "../src/config.ts";

const readme = readFileSync(join(import.meta.dirname, "../README.md"), "utf8");

function keys(schema: Schema): string[] {
  return Object.entries(schema).flatMap(([key, field]) =>
    typeof field.type === "object" ? [key, ...keys(field.type.table)] : [key],
  );
}

describe("README config reference", () => {
  test.each([...keys(TOP_LEVEL_SCHEMA), "routes", "path", "gateway"])("documents `%s`", (key) => {
    expect(readme).toContain(`| \`${key}\` |`);
  });
  for (const [gateway, schema] of Object.entries(gatewaySchemas)) {
    test(`documents the ${gateway} gateway`, () => expect(readme).toContain(`### \`gateway = "${gateway}"\``));
    test.each(keys(schema.fields))(`documents ${gateway} key \`%s\``, (key) => {
      expect(readme.includes(`| \`${key}\` |`) || readme.includes(`\`${key}\` (`)).toBe(true);
    });
  }
});
