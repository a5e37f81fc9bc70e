// Serves a hono app (anything with fetch) with Deno.serve, on TCP or
// unix-socket listen addresses, with a graceful close (Deno's shutdown: stop
// accepting, let in-flight requests finish).

import type { Address } from "../../src/address.ts";
import { errorResponse } from "../../src/errors.ts";
import { admit, fetchEnv } from "../common/fetch-serve.ts";
import { Deno, type DenoHttpServer, type DenoServeInfo } from "./api.ts";
import { peerOf } from "../common/peers.ts";
import { RefusedPeers } from "./refused-peers.ts";
import { authorityOf, clearSocketPath, listenAll, type Fetchable, type RunningServer, type ServeOptions } from "../common/serve.ts";
import { socketPath } from "./socket-file.ts";
import { fetchUpgrading } from "./websocket.ts";

export type { Fetchable, RunningServer, ServeOptions };

export async function serve(app: Fetchable, options: ServeOptions): Promise<RunningServer> {
  const { servers, addresses } = await listenAll<DenoHttpServer>(
    options.listen,
    (addr, servers) => listen(app, options, addr, servers),
    (server) => server.shutdown(),
  );
  return {
    addresses,
    async close() {
      await Promise.all(servers.map((s) => s.shutdown()));
    },
  };
}

/** Serves `app` on one address; the server joins `servers` once it exists. */
async function listen(app: Fetchable, options: ServeOptions, addr: Address, servers: DenoHttpServer[]): Promise<Address> {
  const local = addr.kind === "tcp" ? { address: addr.host, port: addr.port } : { address: "", port: 0 };
  const refusedPeers = new RefusedPeers();
  const localAuthority = () => authorityOf(local.address, local.port);
  const handler = (request: Request, info: DenoServeInfo): Response | Promise<Response> => {
    const peer = peerOf(info.remoteAddr.hostname, info.remoteAddr.port);
    if (peer !== undefined && refusedPeers.has(peer)) return errorResponse(400, { close: true });
    const admitted = admit(request, options.client, localAuthority, options.encodedSlashes);
    const answer = admitted instanceof Response ? admitted : fetchUpgrading(app, request, admitted.request, fetchEnv(admitted, info.remoteAddr.hostname, info.remoteAddr.port, local));
    if (peer === undefined) return answer;
    // An answer that ends the connection (a refusal, a 413) ends it for the app too.
    const note = (response: Response) => {
      if (response.headers.get("connection") === "close") refusedPeers.add(peer);
      return response;
    };
    return answer instanceof Response ? note(answer) : answer.then(note);
  };
  if (addr.kind === "unix") await clearSocketPath(addr.path, socketPath);
  // Of the [client] limits, only the head sizes apply here (admit):
  // Deno.serve has no header timeout, keep-alive timeout or request count
  // per connection to set, and a handler cannot close a connection.
  const bound = await new Promise<Address>((resolve) => {
    const onListen = (b: { hostname?: string; port?: number }) =>
      resolve(addr.kind === "unix" ? addr : { kind: "tcp", host: b.hostname ?? addr.host, port: b.port ?? addr.port });
    servers.push(
      addr.kind === "unix"
        ? Deno.serve({ transport: "unix", path: addr.path, onListen }, handler)
        : Deno.serve({ hostname: addr.host, port: addr.port, onListen }, handler),
    );
  });
  if (bound.kind === "tcp") local.port = bound.port;
  return bound;
}
