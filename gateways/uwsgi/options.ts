// The keys of a `gateway = "uwsgi"` route: the shared keys of an app server
// taking one request per connection (gateways/stream-gateway.ts) and the
// packet's two modifiers (nginx's uwsgi_modifier1 and uwsgi_modifier2).

import type { GatewaySchema, InputOf, ValidatedOf } from "../../src/config-schema.ts";
import { streamFields, streamProblem } from "../stream-gateway.ts";
import { routeFields } from "../route/fields.ts";

export const uwsgiSchema = {
  fields: {
    ...routeFields,
    ...streamFields,
    modifier1: { type: "integer", default: 0, min: 0, max: 255, doc: "the packet's first modifier: which uWSGI plugin serves the request (`0` WSGI, `5` PSGI, `7` Rack); nginx's `uwsgi_modifier1`" },
    modifier2: { type: "integer", default: 0, min: 0, max: 255, doc: "the packet's second modifier; nginx's `uwsgi_modifier2`" },
  },
  check: streamProblem,
} as const satisfies GatewaySchema;

/** What `uwsgi({...})` takes. */
export type UwsgiInput = InputOf<typeof uwsgiSchema.fields>;

export type UwsgiOptions = ValidatedOf<typeof uwsgiSchema.fields>;
