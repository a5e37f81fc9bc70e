// A JSON Schema (draft-07) checker for the keywords postern.schema.json uses
// (type, enum, const, pattern, minimum, maximum, items, minItems, properties,
// required, additionalProperties, anyOf, allOf, if/then), so that a test can
// hold the schema editors load to what postern itself accepts and refuses.

type JsonSchema = Record<string, unknown>;

/** The problems of `value` against `schema`, each as "path: what"; none when it is valid. */
export function schemaProblems(schema: JsonSchema, value: unknown, path = "$"): string[] {
  const problems: string[] = [];
  const type = schema.type as string | undefined;
  if (type !== undefined && !hasType(value, type)) return [`${path}: expected ${type}, found ${JSON.stringify(value)}`];
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if ("const" in schema && schema.const !== value) problems.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (typeof value === "string" && schema.pattern && !new RegExp(schema.pattern as string).test(value)) problems.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) problems.push(`${path}: below ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum) problems.push(`${path}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) problems.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((item, i) => problems.push(...schemaProblems(schema.items as JsonSchema, item, `${path}[${i}]`)));
  }
  if (isObject(value)) {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in value)) problems.push(`${path}: missing ${key}`);
    for (const [key, item] of Object.entries(value)) {
      if (properties[key]) problems.push(...schemaProblems(properties[key]!, item, `${path}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${path}.${key}: not allowed`);
      else if (isObject(schema.additionalProperties)) problems.push(...schemaProblems(schema.additionalProperties, item, `${path}.${key}`));
    }
  }
  if (schema.anyOf && !(schema.anyOf as JsonSchema[]).some((option) => schemaProblems(option, value, path).length === 0)) problems.push(`${path}: matches none of anyOf`);
  for (const part of (schema.allOf ?? []) as JsonSchema[]) problems.push(...schemaProblems(part, value, path));
  if (schema.if && schema.then && schemaProblems(schema.if as JsonSchema, value, path).length === 0) problems.push(...schemaProblems(schema.then as JsonSchema, value, path));
  return problems;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "integer":
      return Number.isInteger(value);
    default:
      return typeof value === type;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
