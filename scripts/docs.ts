// `npm run docs`: writes the postern.toml reference (docs/config.md) and its
// JSON Schema (postern.schema.json) from the schemas (src/config-reference.ts).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gatewaySchemas } from "../gateways/index.ts";
import { configJsonSchema, configReference, JSON_SCHEMA_FILE } from "../src/config-reference.ts";
import { PATH_FIELD, TOP_LEVEL_SCHEMA } from "../src/config.ts";

const REPO = join(import.meta.dirname, "..");
const schemas = { top: TOP_LEVEL_SCHEMA, path: PATH_FIELD, gateways: gatewaySchemas };
writeFileSync(join(REPO, "docs/config.md"), configReference(schemas));
writeFileSync(join(REPO, JSON_SCHEMA_FILE), `${JSON.stringify(configJsonSchema(schemas), null, 2)}\n`);
