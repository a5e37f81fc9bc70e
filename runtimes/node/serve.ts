// Serves a hono app (anything with fetch) on Node's http server, on TCP or
// unix-socket listen addresses, with a graceful close: stop accepting, let
// in-flight requests finish, drop idle keep-alive connections.

import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import type { Address } from "../../src/address.ts";
import { normalizeAddress, type ConnInfo } from "../../src/cgi/conn.ts";
import { reasonPhraseOf } from "../../src/http/reason-phrase.ts";
import { onClientError, onConnect, refused, refuseBadTrailers } from "./refusals.ts";
import type { ServeEnv } from "../../src/runtime.ts";
import { authorityOf, clearSocketPath, listenAll, type Fetchable, type RunningServer, type ServeOptions } from "../common/serve.ts";
import { socketPath } from "../common/socket-file.ts";

export type { Fetchable, RunningServer, ServeOptions };

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
    // Gone already: its "close" will not come again.
    if (!outgoing.writableFinished && (outgoing.destroyed || outgoing.socket?.destroyed === true)) {
      queueMicrotask(listener);
      return () => undefined;
    }
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

// RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ).
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]+$/;

/**
 * Keeps a response's own reason phrase (see src/http/reason-phrase.ts):
 * @hono/node-server writes the head without one, and Node then uses
 * `statusMessage`, which defaults to the standard phrase.
 */
function withReason(response: Response, outgoing: ServerResponse): Response {
  const reason = reasonPhraseOf(response);
  if (reason !== undefined && reason !== STATUS_CODES[response.status] && REASON_PHRASE.test(reason)) outgoing.statusMessage = reason;
  return response;
}

export async function serve(app: Fetchable, options: ServeOptions): Promise<RunningServer> {
  const appListener = getRequestListener((request, bindings) => {
    const outgoing = bindings.outgoing as ServerResponse;
    const response = app.fetch(request, new NodeEnv(bindings.incoming as IncomingMessage, outgoing));
    return response instanceof Response ? withReason(response, outgoing) : response.then((r) => withReason(r, outgoing));
  });
  const limits = options.limits;
  const listener = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const socket = incoming.socket;
    if (refused(incoming, outgoing, limits)) return;
    // RFC 9110 §9.3.7: OPTIONS * is about the server, not a resource a URL can name.
    if (incoming.url === "*") {
      outgoing.writeHead(200, { "content-length": 0 });
      outgoing.end();
      return;
    }
    const headers = incoming.headers;
    // RFC 9112 §3.3: without Host (HTTP/1.0), the authority is the server's address.
    if (headers.host === undefined) headers.host = authorityOf(socket.localAddress, socket.localPort);
    if (headers["transfer-encoding"] !== undefined) refuseBadTrailers(incoming, outgoing);
    return appListener(incoming, outgoing);
  };
  const { servers, addresses } = await listenAll<Server>(
    options.listen,
    (addr, servers) => {
      // Host is checked by checkRequestHead, after the size limits, as Gunicorn does.
      const server = createServer({ maxHeaderSize: options.maxHeaderSize ?? 16 * 1024, requireHostHeader: false }, listener);
      server.keepAliveTimeout = 5_000;
      server.on("clientError", onClientError);
      server.on("connect", onConnect);
      servers.push(server);
      return listen(server, addr);
    },
    closeServer,
  );
  return {
    addresses,
    async close() {
      await Promise.all(servers.map((s) => closeServer(s)));
    },
  };
}

async function listen(server: Server, addr: Address): Promise<Address> {
  if (addr.kind === "unix") await clearSocketPath(addr.path, socketPath);
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
