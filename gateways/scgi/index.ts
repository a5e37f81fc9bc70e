// The SCGI gateway: a route's requests as SCGI netstring headers
// (netstring.ts) to an SCGI server, one request per connection
// (gateways/stream-gateway.ts).

import type { Runtime } from "../../src/runtime.ts";
import type { GatewayHandler } from "../handler.ts";
import { createStreamGateway } from "../stream-gateway.ts";
import { encodeScgiHeaders } from "./netstring.ts";
import type { ScgiOptions } from "./options.ts";

export function createScgi(runtime: Runtime, options: ScgiOptions, name: string): GatewayHandler {
  return createStreamGateway(runtime, options, name, encodeScgiHeaders);
}
