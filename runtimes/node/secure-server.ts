// The server of an `https://` listen address on Node: http2's secure server
// with allowHTTP1, so that clients offering "h2" in ALPN (RFC 7301, RFC 9113
// §3.2) speak HTTP/2 and the others HTTP/1.1 over the same port, both handed
// to the one request listener; what HTTP/2 requests need before it (Host
// from :authority, the head limits), and its graceful close.

import type { IncomingMessage, Server, ServerOptions, ServerResponse } from "node:http";
import { createSecureServer, type Http2ServerRequest, type Http2Session } from "node:http2";
import type { TLSSocket } from "node:tls";
import type { ClientLimits } from "../../src/client-limits.ts";
import { errorPage } from "../../src/http/error-page.ts";
import { checkRequestHead } from "../../src/http/request-head.ts";
import type { NodeTlsContexts } from "./tls.ts";

/** SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 §6.5.2) of every HTTP/2 connection. */
const MAX_CONCURRENT_STREAMS = 128;

type Listener = (incoming: IncomingMessage, outgoing: ServerResponse) => void;

/** Each secure server's open HTTP/2 sessions and HTTP/1.1 connections, for its graceful close. */
const connections = new WeakMap<object, { h2: Set<Http2Session>; http1: Set<HttpSocket> }>();

/**
 * A secure server, typed as the http.Server the rest of serve() drives:
 * HTTP/1.1 connections on it are Node's http server's own (the same
 * parser, events and settings, read from the server object), HTTP/2 streams
 * come through the compatibility API with the same listener.
 */
export function secureServer(contexts: NodeTlsContexts, options: ServerOptions, keepaliveTimeout: number, listener: Listener): Server {
  const server = createSecureServer(
    {
      ...contexts.serverOptions(),
      allowHTTP1: true,
      // Node resets an HTTP/2 stream past 128 fields (its default) before the
      // app sees it: as many as HTTP/1.1 keeps (2000), so that h2Refused
      // answers 431 as checkRequestHead does; the head's bytes are bounded as
      // HTTP/1.1's are (RFC 9113 §6.5.2 SETTINGS_MAX_HEADER_LIST_SIZE).
      maxHeaderListPairs: 2000,
      // Node announces 2^32-1 concurrent streams: one connection could then
      // hold as many requests in flight as it likes. 128 is nginx's
      // http2_max_concurrent_streams; streams reset at once (rapid reset,
      // CVE-2023-44487) are bounded by Node's maxSessionRejectedStreams (100).
      settings: { maxHeaderListSize: options.maxHeaderSize, maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
    },
    listener as never,
  );
  // Read by the HTTP/1.1 connection handling from the server object, where http.createServer stores them.
  Object.assign(server, {
    maxHeaderSize: options.maxHeaderSize,
    requireHostHeader: options.requireHostHeader,
    headersTimeout: options.headersTimeout,
    requestTimeout: options.requestTimeout,
    // How often late heads are looked for, set before listen() starts the checks.
    connectionsCheckingInterval: options.connectionsCheckingInterval,
  });
  const open = { h2: new Set<Http2Session>(), http1: new Set<HttpSocket>() };
  connections.set(server, open);
  server.on("session", (session: Http2Session) => {
    open.h2.add(session);
    // keepalive_timeout for HTTP/2: a session with no frame either way for
    // that long is closed with GOAWAY (RFC 9113 §6.8), its streams finishing.
    session.setTimeout(keepaliveTimeout, () => session.close());
    session.once("close", () => open.h2.delete(session));
  });
  server.on("secureConnection", (socket: HttpSocket) => {
    if (socket.alpnProtocol === "h2") return;
    open.http1.add(socket);
    socket.once("close", () => open.http1.delete(socket));
  });
  return server as unknown as Server;
}

export function isH2(incoming: IncomingMessage): boolean {
  return incoming.httpVersionMajor === 2;
}

/** The TLS socket a request came on, or undefined for plain HTTP. */
export function tlsSocketOf(incoming: IncomingMessage): TLSSocket | undefined {
  const socket = isH2(incoming) ? (incoming as unknown as Http2ServerRequest).stream.session?.socket : incoming.socket;
  return socket !== undefined && "encrypted" in socket && socket.encrypted === true ? (socket as TLSSocket) : undefined;
}

/**
 * RFC 9113 §8.3.1: an HTTP/2 request names its host in :authority; the app
 * reads Host, which is made from it when the client sent none. Then the
 * head limits of HTTP/1.1 (src/http/request-head.ts) are applied to the
 * fields; a refused request gets its error page, without Connection (RFC
 * 9113 §8.2.2 forbids it). True when the request must not reach the app.
 */
export function h2Refused(incoming: IncomingMessage, outgoing: ServerResponse, limits: ClientLimits): boolean {
  const authority = (incoming as unknown as Http2ServerRequest).authority;
  if (incoming.headers.host === undefined && authority) {
    incoming.headers.host = authority;
    incoming.rawHeaders.push("host", authority);
  }
  const fields = incoming.rawHeaders.filter((_, i, raw) => !raw[i - (i % 2)]!.startsWith(":"));
  const refusal = checkRequestHead({ method: incoming.method!, target: incoming.url!, httpVersion: "1.1", rawHeaders: fields }, limits);
  if (!refusal) return false;
  const { connection: _, ...headers } = errorPage(refusal.status).headers;
  outgoing.writeHead(refusal.status, headers);
  outgoing.end(errorPage(refusal.status).body);
  return true;
}

/**
 * Stops accepting, lets every HTTP/2 session finish its streams (GOAWAY,
 * RFC 9113 §6.8), and closes HTTP/1.1 connections once they are idle.
 */
export function closeSecureServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const open = connections.get(server)!;
    const sweep = setInterval(() => closeIdle(open.http1), 50);
    server.close(() => {
      clearInterval(sweep);
      resolve();
    });
    for (const session of open.h2) session.close();
    closeIdle(open.http1);
  });
}

/** The socket field Node's http server sets while a response is under way. */
interface HttpSocket extends TLSSocket {
  _httpMessage?: ServerResponse | null;
}

/** HTTP/1.1 connections with no request under way are closed (what http.Server's closeIdleConnections does). */
function closeIdle(sockets: Set<HttpSocket>): void {
  for (const socket of sockets) if (!socket._httpMessage) socket.destroy();
}
