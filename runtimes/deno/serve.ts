// Serves a hono app (anything with fetch) with Deno.serve, on TCP or
// unix-socket listen addresses, with a graceful close (Deno's shutdown: stop
// accepting, let in-flight requests finish). `https://` addresses get
// Deno.serve's TLS (h2 and http/1.1 by ALPN), one certificate, reloaded by
// closing the port and listening again (runtimes/common/tls-relisten.ts):
// SO_REUSEPORT on a TLS listener needs Deno's --unstable-net.

import type { Address } from "../../src/address.ts";
import { errorResponse } from "../../src/errors.ts";
import type { ServeEnv } from "../../src/runtime.ts";
import { admit, fetchEnv, type Admitted } from "../common/fetch-serve.ts";
import { Deno, type DenoHttpServer, type DenoServeInfo } from "./api.ts";
import { peerOf } from "../common/peers.ts";
import { RefusedPeers } from "./refused-peers.ts";
import { authorityOf, clearSocketPath, listenAll, type Fetchable, type RunningServer, type ServeOptions } from "../common/serve.ts";
import { checkTlsSupport, relistenAfter, type Relisten, type TlsAbilities } from "../common/tls-relisten.ts";
import type { TlsMaterial } from "../../src/tls/material.ts";
import { socketPath } from "./socket-file.ts";
import { fetchUpgrading } from "./websocket.ts";

export type { Fetchable, RunningServer, ServeOptions };

/** What Deno.serve's TLS offers: one certificate, no client certificates. */
const DENO_TLS: TlsAbilities = { sni: false, clientAuth: ["off"] };

export async function serve(app: Fetchable, options: ServeOptions): Promise<RunningServer> {
  if (options.tls !== undefined) options.listen.forEach((text) => checkTlsSupport(text, options.tls!, "Deno", DENO_TLS));
  const secure: Relisten<DenoHttpServer>[] = [];
  const { servers, addresses, schemes } = await listenAll<DenoHttpServer>(
    options.listen,
    (addr, servers, tls) => listen(app, options, addr, servers, tls ? (relisten) => secure.push(relisten) : undefined),
    (server) => server.shutdown(),
    options.tls,
  );
  return {
    addresses,
    schemes,
    async close() {
      await Promise.all(servers.map((s) => s.shutdown()));
    },
    async reloadTls(material: TlsMaterial) {
      const why = secure.length === 0 ? "no https:// address was listened on at start" : undefined;
      if (why !== undefined) return [why];
      checkTlsSupport("tls", material, "Deno", DENO_TLS);
      await relistenAfter(servers, secure, material, (s) => s.shutdown());
      return ["Deno.serve cannot swap a certificate in place: the port was closed and opened again, and its open idle keep-alive connections were closed"];
    },
  };
}

/**
 * Serves `app` on one address; the server joins `servers` once it exists.
 * With `secure`, TLS is spoken, and `secure` is given how to start the
 * server again with other certificates.
 */
async function listen(app: Fetchable, options: ServeOptions, addr: Address, servers: DenoHttpServer[], secure?: (relisten: Relisten<DenoHttpServer>) => void): Promise<Address> {
  const local = addr.kind === "tcp" ? { address: addr.host, port: addr.port, secure: secure !== undefined } : { address: "", port: 0 };
  const refusedPeers = new RefusedPeers();
  const localAuthority = () => authorityOf(local.address, local.port);
  const handler = (request: Request, info: DenoServeInfo): Response | Promise<Response> => {
    const peer = peerOf(info.remoteAddr.hostname, info.remoteAddr.port);
    if (peer !== undefined && refusedPeers.has(peer)) return errorResponse(400, { close: true });
    const h2 = local.secure === true && !request.headers.has("host");
    const admitted = admit(h2 ? withHost(request) : request, options.client, localAuthority, options.encodedSlashes);
    const env = (a: Admitted) => fetchEnv(a, info.remoteAddr.hostname, info.remoteAddr.port, local);
    const answer = admitted instanceof Response ? admitted : fetchUpgrading(app, request, admitted.request, h2 ? asH2(env(admitted)) : env(admitted));
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
  const tls = (material: TlsMaterial | undefined) => (material === undefined ? {} : { cert: material.cert, key: material.key });
  const bound = await new Promise<Address>((resolve) => {
    const onListen = (b: { hostname?: string; port?: number }) =>
      resolve(addr.kind === "unix" ? addr : { kind: "tcp", host: b.hostname ?? addr.host, port: b.port ?? addr.port });
    servers.push(
      addr.kind === "unix"
        ? Deno.serve({ transport: "unix", path: addr.path, onListen }, handler)
        : Deno.serve({ hostname: addr.host, port: addr.port, onListen, ...tls(secure && options.tls) }, handler),
    );
  });
  if (bound.kind === "tcp") local.port = bound.port;
  if (secure && bound.kind === "tcp") {
    const index = servers.length - 1;
    secure({
      index,
      start: (material) => Deno.serve({ hostname: bound.host, port: bound.port, onListen: () => undefined, ...tls(material) }, handler),
    });
  }
  return bound;
}

/**
 * Deno.serve does not say which HTTP version a request came in. Over TLS, a
 * request without Host is taken for HTTP/2 (an HTTP/1.0 client without Host
 * is the other case, and rare over TLS): RFC 9113 §8.3.1 names its host in
 * :authority, which Deno puts in the URL, and Host is made from it.
 */
function withHost(request: Request): Request {
  const headers = new Headers(request.headers);
  headers.set("host", new URL(request.url).host);
  return new Request(request, { headers });
}

function asH2(env: ServeEnv): ServeEnv {
  return { ...env, conn: { ...env.conn, httpVersion: "2.0" } };
}
