// Arrays of tables as a field type (`{ tables: Schema }`, src/config-schema.ts):
// `[[rewrites]]`, `[[tls.certs]]` and the like are checked table by table like
// any key, their errors at `rewrites[2].match` on the right line, their types
// given to the library's options, their rows in the reference and the JSON Schema.

import { parse } from "smol-toml";
import { describe, expect, expectTypeOf, it } from "vitest";
import { configJsonSchema, configReference } from "../src/config-reference.ts";
import { formatKey, locate } from "../src/config-locate.ts";
import { SchemaError, validateTable, type InputOf, type Schema, type ValidatedOf } from "../src/config-schema.ts";
import { parseConfig, PATH_FIELD, type GatewaySchema } from "../src/config.ts";
import { configError } from "./helpers/config-error.ts";
import { schemaProblems } from "./helpers/json-schema.ts";

const RULE = {
  match: { type: "string", required: true, check: (v: string) => (v.startsWith("^") ? undefined : "must start with ^"), doc: "a pattern" },
  to: { type: "string", required: true, doc: "where to" },
  status: { type: "integer", default: 301, min: 301, max: 308, check: (v: number) => (v === 303 ? "not 303" : undefined), doc: "status" },
  host: { type: "string[]", check: (v: string) => (v.includes("*") ? "no wildcard here" : undefined), doc: "hosts" },
} as const satisfies Schema;

const TOP = {
  rules: { type: { tables: RULE }, default: [], doc: "the `[[rules]]`" },
  tls: { type: { table: { certs: { type: { tables: { cert: { type: "string", required: true, doc: "a file" } } }, doc: "the `[[tls.certs]]`" } } }, doc: "the `[tls]` table" },
} as const satisfies Schema;

/** validateTable on a TOML text, its error as postern.toml reports it: `line key: message`. */
function failure(text: string): string {
  try {
    validateTable(TOP, parse(text), []);
  } catch (error) {
    if (!(error instanceof SchemaError)) throw error;
    return `${locate(text, error.at)} ${formatKey(error.path)}: ${error.message}`;
  }
  throw new Error("expected a SchemaError");
}

const THREE = `[[rules]]
match = "^/a"
to = "/b"

[[rules]]
match = "^/c"
to = "/d"
status = 302

[[rules]]
`;

describe("{ tables }: validation", () => {
  it("validates each table, filling its defaults, in order", () => {
    const out = validateTable(TOP, parse(THREE.replace(/\[\[rules\]\]\n$/, "")), []);
    expect(out.rules).toEqual([
      { match: "^/a", to: "/b", status: 301 },
      { match: "^/c", to: "/d", status: 302 },
    ]);
  });

  it("an absent array takes its default, not shared between validations", () => {
    const a = validateTable(TOP, {}, []);
    expect(a.rules).toEqual([]);
    (a.rules as unknown[]).push(1);
    expect(validateTable(TOP, {}, []).rules).toEqual([]);
  });

  it("a key of the third table: rules[2].match at its line", () => {
    expect(failure(`${THREE}match = 5\nto = "/x"\n`)).toBe("11 rules[2].match: expected a string, found integer 5");
  });

  it("a required key missing: rules[2].match at the [[rules]] header", () => {
    expect(failure(`${THREE}to = "/x"\n`)).toMatch(/^10 rules\[2\]\.match: missing required key/);
  });

  it("an unknown key in a table, with did-you-mean", () => {
    expect(failure(`${THREE}match = "^/"\nto = "/"\nstatsu = 307\n`)).toBe('13 rules[2].statsu: unknown key; did you mean "status"?');
  });

  it("bounds of a table's key", () => {
    expect(failure(THREE.replace("status = 302", "status = 200") + 'match = "^/"\nto = "/"\n')).toBe("8 rules[1].status: must be at least 301, found integer 200");
  });

  it("[[tls.certs]] under [tls]: tls.certs[1].cert at its line", () => {
    const text = `[tls]\n\n[[tls.certs]]\ncert = "a.pem"\n\n[[tls.certs]]\ncert = 1\n`;
    expect(failure(text)).toBe("7 tls.certs[1].cert: expected a string, found integer 1");
  });

  it("an inline array of tables: the key's line", () => {
    const text = `rules = [\n  { match = "^/a", to = "/b" },\n  { match = "^/c" },\n]\n`;
    expect(failure(text)).toMatch(/^1 rules\[1\]\.to: missing required key/);
  });

  it("a table where an array of tables is expected", () => {
    expect(failure(`[rules]\nmatch = "^/"\nto = "/"\n`)).toBe("1 rules: expected an array of tables ([[rules]]), found a table");
  });

  it("an array item that is not a table", () => {
    expect(failure(`rules = ["^/a"]\n`)).toBe('1 rules[0]: expected a table, found string "^/a"');
  });
});

describe("Field.check: a string's own rule", () => {
  it("blames the string", () => {
    expect(failure(`[[rules]]\nto = "/"\nmatch = "/a"\n`)).toBe("3 rules[0].match: must start with ^");
  });

  it("blames the item of a string[]", () => {
    expect(failure(`[[rules]]\nmatch = "^/"\nto = "/"\nhost = ["a.example", "*.example"]\n`)).toBe("4 rules[0].host[1]: no wildcard here");
  });

  it("blames an integer", () => {
    expect(failure(`[[rules]]\nto = "/"\nmatch = "^/a"\nstatus = 303\n`)).toBe("4 rules[0].status: not 303");
  });

  it("takes what it accepts", () => {
    expect(validateTable(TOP, parse(`[[rules]]\nmatch = "^/"\nto = "/"\nhost = "a.example"\n`), []).rules).toEqual([
      { match: "^/", to: "/", status: 301, host: ["a.example"] },
    ]);
  });
});

describe("{ tables } in a route: [[routes.rules]]", () => {
  const gateways: Record<string, GatewaySchema> = { demo: { fields: { rules: { type: { tables: RULE }, doc: "rules" } } } };

  it("validated with the route", () => {
    const config = parseConfig(`[[routes]]\ngateway = "demo"\n[[routes.rules]]\nmatch = "^/"\nto = "/x"\n`, "postern.toml", gateways);
    expect(config.routes[0]!.options.rules).toEqual([{ match: "^/", to: "/x", status: 301 }]);
  });

  it("its errors name the route, the table and the line", () => {
    const text = `[[routes]]\ngateway = "demo"\n[[routes]]\ngateway = "demo"\n[[routes.rules]]\nmatch = "^/"\nto = "/x"\n[[routes.rules]]\nmatch = "^/"\nto = 3\n`;
    const error = configError(text, gateways);
    expect({ line: error.line, key: error.key }).toEqual({ line: 10, key: "routes[1].rules[1].to" });
  });
});

describe("{ tables }: types", () => {
  it("InputOf: a readonly array of the tables' inputs; ValidatedOf: an array of validated tables", () => {
    type In = InputOf<typeof TOP>;
    type Out = ValidatedOf<typeof TOP>;
    expectTypeOf<In["rules"]>().toEqualTypeOf<readonly { match: string; to: string; status?: number; host?: string | readonly string[] }[] | undefined>();
    expectTypeOf<Out["rules"]>().toEqualTypeOf<{ match: string; to: string; status: number; host?: string[] }[]>();
    expectTypeOf<NonNullable<Out["tls"]>["certs"]>().toEqualTypeOf<{ cert: string }[] | undefined>();
  });
});

describe("{ tables }: the reference", () => {
  const schemas = { top: TOP, path: PATH_FIELD, route: {}, gateways: { x: { fields: {} } } };

  it("docs/config.md rows: the array of tables, then each key as name[].key", () => {
    const md = configReference(schemas);
    expect(md).toContain("| `rules` | array of tables | — | the `[[rules]]` |");
    expect(md).toContain("| `rules[].match` | string | required | a pattern |");
    expect(md).toContain("| `rules[].status` | integer, 301 to 308 | `301` | status |");
    expect(md).toContain("| `tls.certs[].cert` | string | required | a file |");
  });

  it("the JSON Schema: an array of objects, each checked", () => {
    const json = configJsonSchema(schemas);
    const doc = (rules: string) => ({ ...parse(rules), routes: [{ gateway: "x" }] });
    expect(schemaProblems(json, doc(`[[rules]]\nmatch = "^/"\nto = "/"\n`))).toEqual([]);
    expect(schemaProblems(json, doc(`[[rules]]\nmatch = "^/"\n`))).toEqual(["$.rules[0]: missing to"]);
    expect(schemaProblems(json, doc(`[[rules]]\nmatch = "^/"\nto = "/"\nstatus = 200\n`))).toEqual(["$.rules[0].status: below 301"]);
    expect(schemaProblems(json, doc(`[rules]\nmatch = "^/"\nto = "/"\n`))).not.toEqual([]);
  });
});
