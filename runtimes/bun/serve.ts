// Serves a hono app (anything with fetch) with Bun.serve, on TCP or
// unix-socket listen addresses, with a graceful close (stop accepting, let
// in-flight requests finish). `https://` addresses get Bun.serve's TLS
// (runtimes/bun/tls.ts), reloaded by a new server on the same port
// (runtimes/common/tls-relisten.ts).

import type { Address } from "../../src/address.ts";
import { withDefaults, type ClientLimits } from "../../src/client-limits.ts";
import { errorResponse } from "../../src/errors.ts";
import { admit, fetchEnv } from "../common/fetch-serve.ts";
import { peerOf } from "../common/peers.ts";
import { Bun, type BunServer, type BunWebSocketHandlers } from "./api.ts";
import { RequestCounts } from "./request-counts.ts";
import { authorityOf, clearSocketPath, listenAll, type Fetchable, type RunningServer, type ServeOptions } from "../common/serve.ts";
import { checkTlsSupport, relisten, type Relisten } from "../common/tls-relisten.ts";
import type { TlsMaterial } from "../../src/tls/material.ts";
import { BUN_TLS, bunTls } from "./tls.ts";
import { socketPath } from "../common/socket-file.ts";
import { fetchUpgrading, webSocketHandlers } from "./websocket.ts";

export type { Fetchable, RunningServer, ServeOptions };

export async function serve(app: Fetchable, options: ServeOptions): Promise<RunningServer> {
  if (options.tls !== undefined) options.listen.forEach((text) => checkTlsSupport(text, options.tls!, "Bun", BUN_TLS));
  const secure: Relisten<BunServer>[] = [];
  const { servers, addresses, schemes } = await listenAll<BunServer>(
    options.listen,
    (addr, servers, tls) => listen(app, options, addr, servers, tls ? (relisten) => secure.push(relisten) : undefined),
    (server) => server.stop(true),
    options.tls,
  );
  return {
    addresses,
    schemes,
    async close() {
      await Promise.all(servers.map((s) => s.stop(false)));
    },
    async reloadTls(material: TlsMaterial) {
      if (secure.length === 0) return ["no https:// address was listened on at start"];
      checkTlsSupport("tls", material, "Bun", BUN_TLS);
      await relisten(servers, secure, material, (s) => s.stop(false));
      return ["open idle keep-alive connections were closed: Bun.serve cannot swap a certificate in place"];
    },
  };
}

/**
 * Serves `app` on one address; the server joins `servers`. With `secure`,
 * TLS is spoken, and `secure` is given how to start the server again with
 * other certificates.
 */
async function listen(app: Fetchable, options: ServeOptions, addr: Address, servers: BunServer[], secure?: (relisten: Relisten<BunServer>) => void): Promise<Address> {
  const local = { address: addr.kind === "tcp" ? addr.host : "", port: 0, secure: secure !== undefined };
  const localAuthority = () => authorityOf(local.address, local.port);
  const client = withDefaults(options.client);
  const idleTimeout = idleSeconds(client);
  // A count outlives its connection by no more than this: the soonest Bun may close an idle one.
  const counts = new RequestCounts(client.keepaliveRequests, (idleTimeout - BUN_TICK_S) * 1000);
  const fetch = (request: Request, server: BunServer): Response | undefined | Promise<Response | undefined> => {
    const ip = server.requestIP(request);
    // A unix socket's peers have no name: their requests are not counted.
    const peer = peerOf(ip?.address, ip?.port);
    const admitted = admit(request, options.client, localAuthority, options.encodedSlashes);
    if (admitted instanceof Response) return counts.answer(peer, request, admitted, false);
    const last = peer !== undefined && counts.last(peer);
    const answer = fetchUpgrading(app, server, request, admitted.request, fetchEnv(admitted, ip?.address, ip?.port, local));
    const send = (response: Response | undefined) => response && counts.answer(peer, request, response, last);
    return answer instanceof Response ? send(answer) : answer.then(send);
  };
  const settings = {
    // Bodies are limited per route by the gateways, streaming: Bun's own cap is lifted.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // An error that escapes the app is a plain 500, never Bun's debug page with a stack trace.
    development: false,
    error: () => errorResponse(500),
    idleTimeout,
    websocket: webSocketHandlers as BunWebSocketHandlers<never>,
  };
  if (addr.kind === "unix") await clearSocketPath(addr.path, socketPath);
  const tls = (material: TlsMaterial | undefined) => (material === undefined ? {} : { tls: bunTls(material), reusePort: true });
  const server =
    addr.kind === "unix"
      ? Bun.serve({ unix: addr.path, fetch, ...settings })
      : Bun.serve({ hostname: addr.host, port: addr.port, fetch, ...settings, ...tls(secure && options.tls) });
  servers.push(server);
  local.port = server.port;
  if (secure && addr.kind === "tcp") {
    const index = servers.length - 1;
    secure({ index, start: (material) => Bun.serve({ hostname: addr.host, port: server.port, fetch, ...settings, ...tls(material) }) });
  }
  return addr.kind === "unix" ? addr : { kind: "tcp", host: addr.host, port: server.port };
}

/** Bun's most idleTimeout, in seconds. */
const BUN_MAX_IDLE_S = 255;
/** How much sooner than its idleTimeout Bun may close a connection: its timers tick every 4 s. */
const BUN_TICK_S = 4;

/**
 * Bun.serve's idleTimeout is one timer for a kept connection between
 * requests and for a body or an answer under way: it stands for
 * keepalive_timeout, and for body_timeout and send_timeout too, so it is the
 * longest of them and a tick more, lest it cut a request sooner than
 * configured (the routes time bodies and answers themselves, and answer 408). It is no header timeout: Bun closes a
 * connection whose head is not whole after about 10 s, a timer of its own
 * that no setting changes.
 */
function idleSeconds(client: ClientLimits): number {
  const longest = Math.max(client.keepaliveTimeout, client.bodyTimeout, client.sendTimeout);
  return Math.min(BUN_MAX_IDLE_S, Math.ceil(longest / 1000) + BUN_TICK_S);
}
