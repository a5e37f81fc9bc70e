// Serves a hono app (anything with fetch) with Bun.serve, on TCP or
// unix-socket listen addresses, with a graceful close (stop accepting, let
// in-flight requests finish).

import { unlink } from "node:fs/promises";
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
  try {
    for (const text of options.listen) addresses.push(await listen(app, options, parseAddress(text), servers));
  } catch (err) {
    // One address failed: those already bound are let go of.
    await Promise.all(servers.map((s) => s.stop(true)));
    throw err;
  }
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
  const fetch = (request: Request, server: BunServer): Response | Promise<Response> => {
    // Without Host (HTTP/1.0) Bun's URL is the path alone: the authority is the server's address (RFC 9112 §3.3).
    if (request.url.startsWith("/")) request = new Request(new URL(request.url, `http://${addr.kind === "tcp" ? `${addr.host}:${localPort}` : "localhost"}`), request);
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
  const settings = {
    // Bodies are limited per route by the gateways, streaming: Bun's own cap is lifted.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // An error that escapes the app is a plain 500, never Bun's debug page with a stack trace.
    development: false,
    error: () => new Response("500 Internal Server Error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } }),
  };
  // A socket file left by a server that died would make the bind fail.
  if (addr.kind === "unix") await unlink(addr.path).catch(() => undefined);
  const server =
    addr.kind === "unix" ? Bun.serve({ unix: addr.path, fetch, ...settings }) : Bun.serve({ hostname: addr.host, port: addr.port, fetch, ...settings });
  servers.push(server);
  localPort = server.port;
  return addr.kind === "unix" ? addr : { kind: "tcp", host: addr.host, port: server.port };
}
