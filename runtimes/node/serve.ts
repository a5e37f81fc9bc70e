// Serves a hono app (anything with fetch) on Node's http server, on TCP or
// unix-socket listen addresses, with a graceful close: stop accepting, let
// in-flight requests finish, drop idle keep-alive connections.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { unlink } from "node:fs/promises";
import { getRequestListener } from "@hono/node-server";
import { parseAddress, type Address } from "../../src/address.ts";
import { normalizeAddress, type ConnInfo } from "../../src/cgi/conn.ts";
import type { ServeEnv } from "../../src/runtime.ts";

export interface Fetchable {
  fetch(request: Request, env: ServeEnv): Response | Promise<Response>;
}

export interface ServeOptions {
  listen: string[];
  /** Largest request line plus headers, in bytes: beyond it the client gets 431. */
  maxHeaderSize?: number;
}

export interface RunningServer {
  /** The addresses actually bound (port 0 resolved). */
  readonly addresses: Address[];
  /** Stops accepting, waits for in-flight requests, then resolves. */
  close(): Promise<void>;
}

/** The connection facts a gateway needs, read lazily from the socket. */
class NodeEnv implements ServeEnv {
  readonly #incoming: IncomingMessage;
  readonly #outgoing: ServerResponse;
  #conn: ConnInfo | undefined;
  constructor(incoming: IncomingMessage, outgoing: ServerResponse) {
    this.#incoming = incoming;
    this.#outgoing = outgoing;
  }

  onClientGone(listener: () => void): () => void {
    const outgoing = this.#outgoing;
    const onClose = () => {
      if (!outgoing.writableFinished) listener();
    };
    outgoing.once("close", onClose);
    return () => outgoing.off("close", onClose);
  }
  get conn(): ConnInfo {
    if (this.#conn) return this.#conn;
    const socket = this.#incoming.socket;
    this.#conn = {
      remoteAddress: normalizeAddress(socket.remoteAddress ?? ""),
      remotePort: socket.remotePort ?? 0,
      localAddress: normalizeAddress(socket.localAddress ?? ""),
      localPort: socket.localPort ?? 0,
      tls: "encrypted" in socket && socket.encrypted === true,
      httpVersion: this.#incoming.httpVersion,
    };
    return this.#conn;
  }
}

export async function serve(app: Fetchable, options: ServeOptions): Promise<RunningServer> {
  const listener = getRequestListener((request, bindings) =>
    app.fetch(request, new NodeEnv(bindings.incoming as IncomingMessage, bindings.outgoing as ServerResponse)),
  );
  const servers: Server[] = [];
  const addresses: Address[] = [];
  try {
    for (const text of options.listen) {
      const addr = parseAddress(text);
      const server = createServer({ maxHeaderSize: options.maxHeaderSize ?? 16 * 1024 }, listener);
      server.keepAliveTimeout = 5_000;
      servers.push(server);
      addresses.push(await listen(server, addr));
    }
  } catch (err) {
    await Promise.all(servers.map((s) => closeServer(s)));
    throw err;
  }
  return {
    addresses,
    async close() {
      await Promise.all(servers.map((s) => closeServer(s)));
    },
  };
}

async function listen(server: Server, addr: Address): Promise<Address> {
  if (addr.kind === "unix") await unlink(addr.path).catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const done = () => {
      server.off("error", reject);
      resolve();
    };
    if (addr.kind === "unix") server.listen(addr.path, done);
    else server.listen(addr.port === 0 ? 0 : addr.port, addr.host, done);
  });
  const bound = server.address();
  if (bound && typeof bound === "object") return { kind: "tcp", host: bound.address, port: bound.port };
  return addr;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    // Connections that finish their last request after close() began are
    // idle too: keep closing idle ones until the server is done.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    server.close(() => {
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
  });
}
