// Serves a hono app (anything with fetch) with Deno.serve, on TCP or
// unix-socket listen addresses, with a graceful close (Deno's shutdown: stop
// accepting, let in-flight requests finish).

import { parseAddress, type Address } from "../../src/address.ts";
import { normalizeAddress, type ConnInfo } from "../../src/cgi/conn.ts";
import type { ServeEnv } from "../../src/runtime.ts";
import { refusal } from "../common/fetch-serve.ts";
import { Deno, type DenoHttpServer, type DenoServeInfo } from "./api.ts";
import type { Fetchable, RunningServer, ServeOptions } from "../common/serve.ts";

export type { Fetchable, RunningServer, ServeOptions };

export async function serve(app: Fetchable, options: ServeOptions): Promise<RunningServer> {
  const servers: DenoHttpServer[] = [];
  const addresses: Address[] = [];
  for (const text of options.listen) {
    const addr = parseAddress(text);
    const local = addr.kind === "tcp" ? { address: addr.host, port: addr.port } : { address: "", port: 0 };
    const handler = (request: Request, info: DenoServeInfo): Response | Promise<Response> => {
      const refused = refusal(request, options.limits);
      if (refused) return refused;
      return app.fetch(request, envOf(info, local));
    };
    const listening = new Promise<Address>((resolve) => {
      const onListen = (bound: unknown) => {
        const b = bound as { hostname?: string; port?: number; path?: string };
        resolve(addr.kind === "unix" ? addr : { kind: "tcp", host: b.hostname ?? addr.host, port: b.port ?? addr.port });
      };
      const server =
        addr.kind === "unix"
          ? Deno.serve({ transport: "unix", path: addr.path, onListen }, handler)
          : Deno.serve({ hostname: addr.host, port: addr.port, onListen }, handler);
      servers.push(server);
    });
    const bound = await listening;
    if (bound.kind === "tcp") local.port = bound.port;
    addresses.push(bound);
  }
  return {
    addresses,
    async close() {
      await Promise.all(servers.map((s) => s.shutdown()));
    },
  };
}

function envOf(info: DenoServeInfo, local: { address: string; port: number }): ServeEnv {
  const remote = info.remoteAddr;
  const conn: ConnInfo = {
    remoteAddress: normalizeAddress(remote.hostname ?? ""),
    remotePort: remote.port ?? 0,
    localAddress: local.address,
    localPort: local.port,
    tls: false,
    httpVersion: "1.1",
  };
  // No onClientGone: the gateways listen to request.signal then.
  return { conn };
}
