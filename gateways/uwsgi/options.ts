// The keys of a `gateway = "uwsgi"` route: the shared keys of an app server
// taking one request per connection (gateways/stream-gateway.ts) and the
// packet's two modifiers (nginx's uwsgi_modifier1 and uwsgi_modifier2).

import type { GatewaySchema } from "../../src/config-schema.ts";
import { streamFields, streamProblem, type StreamOptions } from "../stream-gateway.ts";

export const uwsgiSchema: GatewaySchema = {
  fields: {
    ...streamFields,
    modifier1: { type: "integer", default: 0, min: 0, max: 255, doc: "the packet's first modifier: which uWSGI plugin serves the request (`0` WSGI, `5` PSGI, `7` Rack); nginx's `uwsgi_modifier1`" },
    modifier2: { type: "integer", default: 0, min: 0, max: 255, doc: "the packet's second modifier; nginx's `uwsgi_modifier2`" },
  },
  check: streamProblem,
};

export interface UwsgiOptions extends StreamOptions {
  modifier1: number;
  modifier2: number;
}
