// WebSocket upgrades on Bun.serve: the request goes through the app with a
// ServeEnv.upgrade handoff; when a proxy route's backend answers 101, the
// client's upgrade is accepted (server.upgrade, with the backend's
// subprotocol) and messages are relayed (gateways/proxy/websocket-relay.ts):
// Bun gives a handler no raw connection to pass bytes through.

import { chosenProtocol, relayMessages, type ClientSide } from "../../gateways/proxy/websocket-relay.ts";
import type { ServeEnv, UpgradeTunnel } from "../../src/runtime.ts";
import type { Fetchable } from "../common/serve.ts";
import type { BunServer, BunWebSocket, BunWebSocketHandlers } from "./api.ts";

/** A relayed socket's state: the backend's tunnel, then the relay once the client's side is open. */
interface Relayed {
  tunnel: UpgradeTunnel;
  side?: ClientSide;
}

/** `app.fetch(admitted, env)`, with a WebSocket upgrade handed over when a route accepts it: then undefined (Bun has answered). */
export function fetchUpgrading(app: Fetchable, server: BunServer, original: Request, admitted: Request, env: ServeEnv): Response | Promise<Response | undefined> {
  if (original.headers.get("upgrade")?.toLowerCase() !== "websocket") return app.fetch(admitted, env);
  let tunnel: UpgradeTunnel | undefined;
  const answer = app.fetch(admitted, { ...env, upgrade: { accept: (t) => void (tunnel = t), messages: true } });
  return Promise.resolve(answer).then((response) => {
    if (tunnel === undefined) return response;
    const protocol = chosenProtocol(tunnel);
    const data: Relayed = { tunnel };
    if (server.upgrade(original, { data, ...(protocol === undefined ? {} : { headers: { "sec-websocket-protocol": protocol } }) })) return undefined;
    tunnel.duplex.close();
    return new Response(null, { status: 400 });
  });
}

/** The handlers Bun.serve relays upgraded sockets with. */
export const webSocketHandlers: BunWebSocketHandlers<Relayed> = {
  open: (ws) => {
    // Bun's ServerWebSocket tells its backlog by a method; the relay reads it as WebSocket's property.
    const buffered = ws as BunWebSocket<Relayed> & { getBufferedAmount(): number };
    const client = {
      send: (data: string | Uint8Array) => void ws.send(data),
      close: (code?: number, reason?: string) => ws.close(code, reason),
      get bufferedAmount() {
        return buffered.getBufferedAmount();
      },
    };
    ws.data.side = relayMessages(ws.data.tunnel, client);
  },
  message: (ws, message) => ws.data.side?.message(message),
  close: (ws, code, reason) => ws.data.side?.closed(code, reason),
};
