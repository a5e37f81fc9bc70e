// The uwsgi gateway: a route's requests as uwsgi packets (packet.ts) to uWSGI
// or another server of the protocol, one request per connection
// (gateways/stream-gateway.ts).

import type { Runtime } from "../../src/runtime.ts";
import type { GatewayHandler } from "../handler.ts";
import { createStreamGateway } from "../stream-gateway.ts";
import type { UwsgiOptions } from "./options.ts";
import { encodeUwsgiPacket } from "./packet.ts";

export function createUwsgi(runtime: Runtime, options: UwsgiOptions, name: string): GatewayHandler {
  return createStreamGateway(runtime, options, name, (vars) => encodeUwsgiPacket(vars, options.modifier1, options.modifier2));
}
