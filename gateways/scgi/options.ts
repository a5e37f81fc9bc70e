// The keys of a `gateway = "scgi"` route: the shared keys of an app server
// taking one request per connection (gateways/stream-gateway.ts). A name or
// value of `env` with a NUL byte cannot be sent in SCGI's NUL-separated
// header (netstring.ts): refused here, at startup.

import type { GatewaySchema, InputOf, ValidatedOf } from "../../src/config-schema.ts";
import { streamFields, streamProblem } from "../stream-gateway.ts";
import { routeFields } from "../route/fields.ts";

export const scgiSchema = {
  fields: { ...routeFields, ...streamFields },
  check(options) {
    for (const [name, value] of Object.entries(options.env as Record<string, string>)) {
      if (name === "" || name.includes("\0") || value.includes("\0")) {
        return { key: "env", message: `SCGI carries no empty name and no NUL byte; found ${JSON.stringify(name)} = ${JSON.stringify(value)}` };
      }
    }
    return streamProblem(options);
  },
} as const satisfies GatewaySchema;

/** What `scgi({...})` takes. */
export type ScgiInput = InputOf<typeof scgiSchema.fields>;

export type ScgiOptions = ValidatedOf<typeof scgiSchema.fields>;
