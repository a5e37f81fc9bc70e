// Serves a hono app (anything with fetch) with Bun.serve, on TCP or
// unix-socket listen addresses, with a graceful close (stop accepting, let
// in-flight requests finish).

import type { Address } from "../../src/address.ts";
import { normalizeAddress } from "../../src/cgi/conn.ts";
import { errorResponse } from "../../src/errors.ts";
import type { ServeEnv } from "../../src/runtime.ts";
import { admit } from "../common/fetch-serve.ts";
import { Bun, type BunServer } from "./api.ts";
import { authorityOf, clearSocketPath, listenAll, type Fetchable, type RunningServer, type ServeOptions } from "../common/serve.ts";
import { socketPath } from "../common/socket-file.ts";

export type { Fetchable, RunningServer, ServeOptions };

export async function serve(app: Fetchable, options: ServeOptions): Promise<RunningServer> {
  const { servers, addresses } = await listenAll<BunServer>(
    options.listen,
    (addr, servers) => listen(app, options, addr, servers),
    (server) => server.stop(true),
  );
  return {
    addresses,
    async close() {
      await Promise.all(servers.map((s) => s.stop(false)));
    },
  };
}

/** Serves `app` on one address; the server joins `servers`. */
async function listen(app: Fetchable, options: ServeOptions, addr: Address, servers: BunServer[]): Promise<Address> {
  let localPort = 0;
  const localAuthority = () => authorityOf(addr.kind === "tcp" ? addr.host : "", localPort);
  const fetch = (request: Request, server: BunServer): Response | Promise<Response> => {
    const admitted = admit(request, options.limits, localAuthority, options.encodedSlashes);
    if (admitted instanceof Response) return admitted;
    const ip = server.requestIP(request);
    // No onClientGone: the gateways listen to request.signal then.
    const env: ServeEnv = {
      conn: {
        remoteAddress: normalizeAddress(ip?.address ?? ""),
        remotePort: ip?.port ?? 0,
        localAddress: addr.kind === "tcp" ? addr.host : "",
        localPort,
        tls: false,
        httpVersion: admitted.httpVersion,
      },
      clientTarget: admitted.clientTarget,
    };
    return app.fetch(admitted.request, env);
  };
  const settings = {
    // Bodies are limited per route by the gateways, streaming: Bun's own cap is lifted.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // An error that escapes the app is a plain 500, never Bun's debug page with a stack trace.
    development: false,
    error: () => errorResponse(500),
  };
  if (addr.kind === "unix") await clearSocketPath(addr.path, socketPath);
  const server =
    addr.kind === "unix" ? Bun.serve({ unix: addr.path, fetch, ...settings }) : Bun.serve({ hostname: addr.host, port: addr.port, fetch, ...settings });
  servers.push(server);
  localPort = server.port;
  return addr.kind === "unix" ? addr : { kind: "tcp", host: addr.host, port: server.port };
}
