// WebSocket upgrades on Deno.serve: the request goes through the app with a
// ServeEnv.upgrade handoff; when a proxy route's backend answers 101, the
// client's upgrade is accepted (Deno.upgradeWebSocket, with the backend's
// subprotocol) and messages are relayed (gateways/proxy/websocket-relay.ts):
// Deno gives a handler no raw connection to pass bytes through.

import { chosenProtocol, relayMessages } from "../../gateways/proxy/websocket-relay.ts";
import type { ServeEnv, UpgradeTunnel } from "../../src/runtime.ts";
import type { Fetchable } from "../common/serve.ts";
import { Deno } from "./api.ts";

/** `app.fetch(admitted, env)`, with a WebSocket upgrade of `original` (Deno.serve's own request) handed over when a route accepts it. */
export function fetchUpgrading(app: Fetchable, original: Request, admitted: Request, env: ServeEnv): Response | Promise<Response> {
  if (original.headers.get("upgrade")?.toLowerCase() !== "websocket") return app.fetch(admitted, env);
  let tunnel: UpgradeTunnel | undefined;
  const answer = app.fetch(admitted, { ...env, upgrade: { accept: (t) => void (tunnel = t), messages: true } });
  return Promise.resolve(answer).then((response) => {
    if (tunnel === undefined) return response;
    const accepted = tunnel;
    const protocol = chosenProtocol(accepted);
    let upgraded: ReturnType<typeof Deno.upgradeWebSocket>;
    try {
      upgraded = Deno.upgradeWebSocket(original, protocol === undefined ? {} : { protocol });
    } catch {
      // Not a request Deno can upgrade (no Sec-WebSocket-Key, a wrong version): the backend's slot is freed.
      accepted.duplex.close();
      return new Response(null, { status: 400 });
    }
    const { socket, response: switched } = upgraded;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      const side = relayMessages(accepted, socket);
      socket.onmessage = (event) => side.message(typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer));
      socket.onclose = (event) => side.closed(event.code, event.reason);
    };
    return switched;
  });
}
