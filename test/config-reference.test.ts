// docs/config.md and postern.schema.json are generated from the schemas
// (src/config-reference.ts, `npm run docs`): they are current, and the JSON
// Schema editors load accepts every config of the documentation and what
// postern accepts, and refuses what postern refuses.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { describe, expect, test } from "vitest";
import { configSchemas, gatewaySchemas } from "../gateways/index.ts";
import { configJsonSchema, configReference, JSON_SCHEMA_FILE } from "../src/config-reference.ts";
import { parseConfig } from "../src/config.ts";
import { schemaProblems } from "./helpers/json-schema.ts";
import { readmeBlocks } from "./helpers/readme.ts";

const REPO = join(import.meta.dirname, "..");
const SCHEMAS = configSchemas;
const jsonSchema = configJsonSchema(SCHEMAS);


test("docs/config.md is the reference the schemas make (run `npm run docs`)", () => {
  expect(readFileSync(join(REPO, "docs/config.md"), "utf8")).toBe(configReference(SCHEMAS));
});

test(`${JSON_SCHEMA_FILE} is the JSON Schema the schemas make (run \`npm run docs\`)`, () => {
  expect(JSON.parse(readFileSync(join(REPO, JSON_SCHEMA_FILE), "utf8"))).toEqual(jsonSchema);
});

/** A route of each gateway with its required keys, as postern accepts it. */
const MINIMAL: Record<string, string> = {
  fastcgi: 'gateway = "fastcgi"\nbackend = "127.0.0.1:9000"\nroot = "/srv/www"',
  cgi: 'gateway = "cgi"\nroot = "/srv/www"',
  static: 'gateway = "static"\nroot = "/srv/www"',
  wasi: 'gateway = "wasi"\nmodule = "app.wasm"',
  uwsgi: 'gateway = "uwsgi"\nbackend = "127.0.0.1:3031"',
  scgi: 'gateway = "scgi"\nbackend = "127.0.0.1:4000"',
  wsgi: 'gateway = "wsgi"\napp = "myapp:app"',
  proxy: 'gateway = "proxy"\nbackend = "http://127.0.0.1:3000"',
  respond: 'gateway = "respond"',
};

interface Branch {
  if: { properties: { gateway: { const: string } } };
  then: { properties: Record<string, { default?: unknown }> };
}

/** The JSON Schema of a route of `gateway`: the `then` of its branch. */
function routeSchema(gateway: string): Branch["then"] {
  const routes = (jsonSchema.properties as { routes: { items: { allOf: Branch[] } } }).routes;
  return routes.items.allOf.find((branch) => branch.if.properties.gateway.const === gateway)!.then;
}

/** postern's verdict and the JSON Schema's on one postern.toml: both accept it, or both refuse it. */
function verdicts(toml: string): { postern: boolean; schema: string[] } {
  let postern = true;
  try {
    parseConfig(toml, "postern.toml", gatewaySchemas);
  } catch {
    postern = false;
  }
  return { postern, schema: schemaProblems(jsonSchema, parse(toml)) };
}

describe("the JSON Schema", () => {
  test("has a minimal route of every gateway", () => expect(Object.keys(MINIMAL).sort()).toEqual(Object.keys(gatewaySchemas).sort()));

  test.each(readmeBlocks("toml").map((block, i) => [i, block] as const))("accepts the documentation's postern.toml #%i", (_, block) => {
    // A block without routes shows top-level keys: it is loaded with one route after it.
    const toml = block.includes("[[routes]]") ? block : `${block}\n[[routes]]\n${MINIMAL.cgi}\n`;
    expect(verdicts(toml)).toEqual({ postern: true, schema: [] });
  });

  for (const [gateway, schema] of Object.entries(gatewaySchemas)) {
    test(`accepts every ${gateway} key at its documented default, as postern does`, () => {
      const route = routeSchema(gateway);
      for (const [key, property] of Object.entries(route.properties)) {
        if (property.default === undefined || key === "gateway" || key === "path") continue;
        const toml = `[[routes]]\n${MINIMAL[gateway]}\n${key} = ${JSON.stringify(property.default)}\n`;
        expect(verdicts(toml), `${gateway}.${key}`).toEqual({ postern: true, schema: [] });
      }
      // Every key once: the keys every route takes (gateways/route/fields.ts) come first, wherever the gateway's schema spreads them.
      expect(Object.keys(route.properties).sort()).toEqual(["path", "gateway", ...Object.keys(schema.fields)].sort());
    });
  }

  test.each([
    ["an unknown top-level key", `lisen = ["127.0.0.1:8080"]\n[[routes]]\n${MINIMAL.cgi}`],
    ["a key of another gateway", `[[routes]]\n${MINIMAL.static}\nfront_controller = "/index.php"`],
    ["an unknown gateway", `[[routes]]\ngateway = "fastcgl"\nroot = "/srv/www"`],
    ["a value not among the allowed ones", `[[routes]]\n${MINIMAL.fastcgi}\nbalance = "random"`],
    ["a value out of bounds", `[[routes]]\n${MINIMAL.wasi}\nthreads = 0`],
    ["a size with an unknown unit", `[[routes]]\n${MINIMAL.cgi}\nmax_body_size = "1t"`],
    ["a duration without a unit", `[[routes]]\n${MINIMAL.cgi}\ntimeout = "30"`],
    ["a required key left out", `[[routes]]\ngateway = "wsgi"`],
    ["a sub-table's unknown key", `[[routes]]\n${MINIMAL.fastcgi}\nhealth = { pth = "/ping" }`],
    ["no routes", `listen = ["127.0.0.1:8080"]`],
  ])("refuses %s, as postern does", (_, toml) => {
    const { postern, schema } = verdicts(toml);
    expect(postern).toBe(false);
    expect(schema).not.toEqual([]);
  });
});
