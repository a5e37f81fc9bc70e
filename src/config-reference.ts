// The reference of postern.toml, generated from the schemas that validate it
// (src/config.ts's top level and [client], each gateway's options.ts): the
// Markdown of docs/config.md and a JSON Schema (draft-07, the draft taplo and
// Even Better TOML read) for editors. Every key's type, default, bounds,
// allowed values and doc come from its Field; nothing here repeats them.
// `npm run docs` (scripts/docs.ts) writes both files; a test compares them.

import { backendFields } from "./backend/options.ts";
import { bufferingFields } from "./buffer/options.ts";
import { nestedKeyPrefix, tableSchema, type Field, type GatewaySchema, type Schema } from "./config-schema.ts";

/**
 * The schemas a reference is made of: the top-level keys (with [client]),
 * every route's `path`, the keys every gateway's schema shares (the route
 * modules', listed once), and each gateway's route keys.
 */
export interface ReferenceSchemas {
  top: Schema;
  path: Field;
  route: Schema;
  gateways: Record<string, GatewaySchema>;
}

/** The file editors load (`#:schema`) and docs/config.md name, relative to the repository. */
export const JSON_SCHEMA_FILE = "postern.schema.json";

/** The keys every route has, whatever its gateway; `gateway` picks the schema of the others. */
const ROUTE_FIELDS = (path: Field, gateways: string[]): Schema => ({
  path,
  gateway: { type: "string", required: true, oneOf: gateways, doc: "what serves the route, and so which keys it takes" },
});

const ROUTES: Field = { type: "string", required: true, doc: "the `[[routes]]` tables, tried in order; at least one" };

/** Where each gateway's behaviour is described, relative to docs/. */
const GATEWAY_DOCS: Record<string, string> = {
  fastcgi: "[The FastCGI gateway](gateways/fastcgi.md)",
  cgi: "[The CGI gateway](gateways/cgi.md)",
  wasi: "[The WASI gateway](gateways/wasi.md)",
  wsgi: "[WSGI apps](gateways/wsgi.md)",
  uwsgi: "[The uwsgi and SCGI gateways](gateways/uwsgi-scgi.md)",
  scgi: "[The uwsgi and SCGI gateways](gateways/uwsgi-scgi.md)",
  static: "[Static files](gateways/static.md)",
  proxy: "[HTTP reverse proxy routes](gateways/proxy.md)",
  respond: "[Mounting applications](mounts.md#keeping-clients-out-of-a-directory)",
};

/** Keys shared by several gateways, and the page that explains them together. */
const SHARED: { fields: Schema; link: string }[] = [
  { fields: bufferingFields, link: "[Slow clients](slow-clients.md)" },
  { fields: backendFields, link: "[Several backends](backends.md)" },
];

const KiB = 1024;

/** A size in bytes as postern.toml writes it: "64k", "1g", or the number. */
function sizeValue(bytes: number): string | number {
  for (const [unit, factor] of [["g", KiB ** 3], ["m", KiB ** 2], ["k", KiB]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return bytes;
}

/** A duration in milliseconds as postern.toml writes it: "30s", "500ms". */
function durationText(ms: number): string {
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000}h`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** A field's default as a TOML value would write it (JSON for the JSON Schema's `default`). */
function defaultValue(field: Field): unknown {
  const value = field.default;
  if (value === undefined || value === 0) return value;
  if (field.type === "size") return sizeValue(value as number);
  if (field.type === "duration") return durationText(value as number);
  return value;
}

/** A JSON-like value written as TOML (inline). */
function toml(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(toml).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => `${/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k)} = ${toml(v)}`);
    return entries.length === 0 ? "{}" : `{ ${entries.join(", ")} }`;
  }
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** A bound in the field's unit, for the type column. */
function boundText(field: Field, bound: number): string {
  if (field.type === "size") return String(sizeValue(bound));
  if (field.type === "duration") return bound === 1 ? "1ms" : durationText(bound);
  return String(bound);
}

/** The type column: the type, its allowed values and its bounds. */
function typeText(field: Field): string {
  const type = field.type;
  if (field.aliasOf !== undefined) return `old name of \`${field.aliasOf}\``;
  if (field === ROUTES) return "array of tables";
  if (typeof type === "object") return "table" in type ? "table" : "array of tables";
  const names: Record<typeof type, string> = {
    string: "string",
    boolean: "boolean",
    integer: "integer",
    "string[]": "string or array of strings",
    size: "size",
    duration: "duration",
    "address[]": "address or array of addresses",
    env: "table of strings",
  };
  const parts = [names[type]];
  if (field.oneOf) parts.push(`one of ${field.oneOf.map((v) => `\`${JSON.stringify(v)}\``).join(", ")}`);
  if (field.booleans) parts.push(`or \`true\` (\`${JSON.stringify(field.booleans[0])}\`), \`false\` (\`${JSON.stringify(field.booleans[1])}\`)`);
  const floor = field.min !== undefined && !(field.min === 0 && (type === "size" || type === "duration"));
  if (floor && field.max !== undefined) parts.push(`${boundText(field, field.min!)} to ${boundText(field, field.max)}`);
  else if (floor) parts.push(`at least ${boundText(field, field.min!)}`);
  else if (field.max !== undefined) parts.push(`at most ${boundText(field, field.max)}`);
  return parts.join(", ");
}

function defaultText(field: Field): string {
  if (field.required) return "required";
  if (typeof field.type === "object") return "—";
  const value = defaultValue(field);
  return value === undefined ? "—" : `\`${toml(value)}\``;
}

/** The pages that explain a gateway: its own, then those of the keys it shares with others. */
function pages(name: string, schema: Schema): string[] {
  const own = GATEWAY_DOCS[name];
  const shared = SHARED.filter((group) => Object.values(schema).some((field) => Object.values(group.fields).includes(field)));
  return [...(own ? [own] : []), ...shared.map((group) => group.link)];
}

/** Table rows for a schema; a sub-table's keys follow it as `table.key`, but for those in `apart` (a section of their own). */
function rows(schema: Schema, apart: readonly string[], prefix = ""): string[] {
  return Object.entries(schema).flatMap(([key, field]) => {
    const name = `${prefix}${key}`;
    const row = `| \`${name}\` | ${typeText(field)} | ${defaultText(field)} | ${field.doc.replaceAll("|", "\\|")} |`;
    const nested = tableSchema(field);
    return nested && !apart.includes(name) ? [row, ...rows(nested, apart, nestedKeyPrefix(field, name))] : [row];
  });
}

function table(schema: Schema, apart: readonly string[] = []): string {
  return ["| key | type | default | meaning |", "| --- | --- | --- | --- |", ...rows(schema, apart)].join("\n");
}

const INTRO = `# postern.toml reference

<!-- Generated by \`npm run docs\` from the schemas (src/config.ts, src/client-limits.ts,
gateways/*/options.ts and the files they import): edit those, not this file. -->

Every key postern.toml takes, with its type, default and bounds. A key that
is not here is refused, naming its line; so is a value of the wrong type or
out of bounds. The same keys, with the same names, defaults and checks, are
the options of \`fastcgi({...})\`, \`cgi({...})\`, \`wasi({...})\`,
\`wsgi({...})\`, \`uwsgi({...})\`, \`scgi({...})\` and \`staticFiles({...})\`
in a program. Routes are tried in order; the first whose \`path\` matches
answers, or hands the request on to the next (a static route without the
file). A relative path (\`root\`, \`module\`, \`chdir\`, ...) is taken from the
config file's directory; addresses and commands are used as written. What
\`max_conns\`, \`max_procs\`, \`threads\` and \`spawn.procs\` each bound:
[how many at once](concurrency.md).

| type | written as |
| --- | --- |
| duration | seconds as a number (\`30\`, \`0.5\`), or a string: \`"500ms"\`, \`"30s"\`, \`"2m"\`, \`"1h"\`; at most \`"596h"\` (2³¹ − 1 ms, the longest a timer can wait) |
| size | bytes as an integer, or a string: \`"512"\`, \`"64k"\`, \`"16m"\`, \`"1g"\` (binary units; \`"64kb"\`, \`"64KiB"\` too) |
| address | \`"127.0.0.1:9000"\`, \`"tcp://host:port"\`, \`"[::1]:9000"\` or \`"unix:/path/to.sock"\` |
| table of strings | an inline table, \`{ NAME = "value" }\`, or a sub-table |
| array of tables | a \`[[name]]\` table per item, in order (or an inline array, \`name = [{ ... }, { ... }]\`); the keys of each are listed as \`name[].key\` |

Editors that read JSON Schema for TOML (taplo, VS Code's Even Better TOML)
complete and check these keys, with this page's text on hover, given the
schema on the file's first line:

\`\`\`toml
#:schema ./${JSON_SCHEMA_FILE}
\`\`\`

with the path of [\`${JSON_SCHEMA_FILE}\`](../${JSON_SCHEMA_FILE}) (at the top of
postern's source tree, or a copy of it), relative to the config file.
`;

/** docs/config.md: an introduction, then a table per table of keys. */
export function configReference({ top, path, route, gateways }: ReferenceSchemas): string {
  const sections = [INTRO, "## Top level\n", table({ ...top, routes: ROUTES }, ["client"])];
  const client = top.client;
  const clientSchema = client && tableSchema(client);
  if (clientSchema) sections.push("\n## `[client]`\n", table(clientSchema));
  sections.push("\n## Every route\n", table({ ...ROUTE_FIELDS(path, Object.keys(gateways)), ...route }));
  for (const [name, schema] of Object.entries(gateways)) {
    const own = Object.fromEntries(Object.entries(schema.fields).filter(([key]) => !Object.hasOwn(route, key)));
    const see = pages(name, own);
    sections.push(`\n## \`gateway = "${name}"\`\n`);
    if (see.length > 0) sections.push(`How it behaves: ${see.join(", ")}.\n`);
    sections.push(table(own));
  }
  return `${sections.join("\n")}\n`;
}

/** JSON Schema for a field (descriptions from the doc, defaults as TOML writes them). */
function fieldSchema(field: Field): Record<string, unknown> {
  // An old name is still read, but an editor should say so (draft 2019-09's `deprecated`, which editors honour).
  const out: Record<string, unknown> = { description: field.doc, ...typeSchema(field), ...(field.aliasOf === undefined ? {} : { deprecated: true }) };
  const value = defaultValue(field);
  if (value !== undefined && typeof field.type !== "object") out.default = value;
  return out;
}

const SIZE_PATTERN = "^\\s*[0-9]+\\s*([kKmMgG]([iI]?[bB])?|[bB])?\\s*$";
const DURATION_PATTERN = "^\\s*[0-9]+(\\.[0-9]+)?\\s*([mM][sS]|[sSmMhH])\\s*$";

function typeSchema(field: Field): Record<string, unknown> {
  const type = field.type;
  const bounds = (scale: number) => ({
    ...(field.min === undefined ? {} : { minimum: field.min / scale }),
    ...(field.max === undefined ? {} : { maximum: field.max / scale }),
  });
  const string = field.oneOf ? { type: "string", enum: [...field.oneOf] } : { type: "string" };
  if (typeof type === "object") return "table" in type ? objectSchema(type.table) : { type: "array", items: objectSchema(type.tables) };
  switch (type) {
    case "string":
      return field.booleans ? { anyOf: [string, { type: "boolean" }] } : string;
    case "boolean":
      return { type: "boolean" };
    case "integer":
      return { type: "integer", ...bounds(1) };
    case "string[]":
      return { anyOf: [string, { type: "array", items: string }] };
    case "size":
      return { anyOf: [{ type: "integer", minimum: 0, ...bounds(1) }, { type: "string", pattern: SIZE_PATTERN }] };
    case "duration":
      return { anyOf: [{ type: "number", minimum: 0, ...bounds(1000) }, { type: "string", pattern: DURATION_PATTERN }] };
    case "address[]":
      return { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" }, minItems: 1 }] };
    case "env":
      return { type: "object", additionalProperties: { type: "string" } };
  }
}

function objectSchema(schema: Schema, extra: Schema = {}): Record<string, unknown> {
  const all = { ...extra, ...schema };
  const required = Object.entries(schema).filter(([, field]) => field.required).map(([key]) => key);
  return {
    type: "object",
    properties: Object.fromEntries(Object.entries(all).map(([key, field]) => [key, fieldSchema(field)])),
    ...(required.length === 0 ? {} : { required }),
    additionalProperties: false,
  };
}

/** The JSON Schema of postern.toml: a route's keys are its gateway's, chosen by `gateway` (if/then). */
export function configJsonSchema({ top, path, route, gateways }: ReferenceSchemas): Record<string, unknown> {
  const names = Object.keys(gateways);
  const routeFields = { ...ROUTE_FIELDS(path, names), ...route };
  const topSchema = objectSchema(top);
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "postern.toml",
    description: "The configuration of postern, a web gateway (docs/config.md).",
    ...topSchema,
    properties: {
      ...(topSchema.properties as object),
      routes: {
        description: ROUTES.doc,
        type: "array",
        minItems: 1,
        items: {
          type: "object",
          required: ["gateway"],
          properties: Object.fromEntries(Object.entries(routeFields).map(([key, field]) => [key, fieldSchema(field)])),
          allOf: names.map((name) => ({
            if: { properties: { gateway: { const: name } }, required: ["gateway"] },
            then: objectSchema(gateways[name]!.fields, routeFields),
          })),
        },
      },
    },
    required: ["routes"],
  };
}
