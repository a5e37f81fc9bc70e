// `npm run docs`: writes the postern.toml reference (docs/config.md) and its
// JSON Schema (postern.schema.json) from the schemas (src/config-reference.ts).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { configSchemas as schemas } from "../gateways/index.ts";
import { configJsonSchema, configReference, JSON_SCHEMA_FILE } from "../src/config-reference.ts";

const REPO = join(import.meta.dirname, "..");
writeFileSync(join(REPO, "docs/config.md"), configReference(schemas));
writeFileSync(join(REPO, JSON_SCHEMA_FILE), `${JSON.stringify(configJsonSchema(schemas), null, 2)}\n`);
