// Serves a hono app (anything with fetch) with Bun.serve, on TCP or
// unix-socket listen addresses, with a graceful close (stop accepting, let
// in-flight requests finish).

import { parseAddress, type Address } from "../../src/address.ts";
import { normalizeAddress } from "../../src/cgi/conn.ts";
import type { ServeEnv } from "../../src/runtime.ts";
import { refusal } from "../common/fetch-serve.ts";
import { Bun, type BunServer } from "./api.ts";
import type { Fetchable, RunningServer, ServeOptions } from "../common/serve.ts";

export type { Fetchable, RunningServer, ServeOptions };

export async function serve(app: Fetchable, options: ServeOptions): Promise<RunningServer> {
  const servers: BunServer[] = [];
  const addresses: Address[] = [];
  for (const text of options.listen) {
    const addr = parseAddress(text);
    let localPort = 0;
    const fetch = (request: Request, server: BunServer): Response | Promise<Response> => {
      const refused = refusal(request, options.limits);
      if (refused) return refused;
      const ip = server.requestIP(request);
      // No onClientGone: the gateways listen to request.signal then.
      const env: ServeEnv = {
        conn: {
          remoteAddress: normalizeAddress(ip?.address ?? ""),
          remotePort: ip?.port ?? 0,
          localAddress: addr.kind === "tcp" ? addr.host : "",
          localPort,
          tls: false,
          httpVersion: "1.1",
        },
      };
      return app.fetch(request, env);
    };
    // Bodies are limited per route by the gateways, streaming: Bun's own cap is lifted.
    const limit = { maxRequestBodySize: Number.MAX_SAFE_INTEGER };
    const server =
      addr.kind === "unix" ? Bun.serve({ unix: addr.path, fetch, ...limit }) : Bun.serve({ hostname: addr.host, port: addr.port, fetch, ...limit });
    servers.push(server);
    localPort = server.port;
    addresses.push(addr.kind === "unix" ? addr : { kind: "tcp", host: addr.host, port: server.port });
  }
  return {
    addresses,
    async close() {
      await Promise.all(servers.map((s) => s.stop(false)));
    },
  };
}
