// Serves a hono app (anything with fetch) on Node's http server, on TCP or
// unix-socket listen addresses, with a graceful close: stop accepting, let
// in-flight requests finish, drop idle keep-alive connections. `https://`
// addresses get Node's HTTP/2 secure server, HTTP/1.1 for clients that do
// not offer h2 in ALPN (RFC 7301), both through the same request path.

import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import type { Address } from "../../src/address.ts";
import { withDefaults, type ClientLimits } from "../../src/client-limits.ts";
import { normalizeAddress, type ConnInfo } from "../../src/cgi/conn.ts";
import type { ClientTarget } from "../../src/cgi/target.ts";
import { targetAuthority } from "../../src/http/authority.ts";
import { reasonPhraseOf } from "../../src/http/reason-phrase.ts";
import { normalTarget, pathAndQuery } from "../../src/paths.ts";
import { countRequest, lingerOnUnreadBody, onClientError, onConnect, refused, refuseBadTrailers } from "./refusals.ts";
import type { ServeEnv } from "../../src/runtime.ts";
import type { TlsMaterial } from "../../src/tls/material.ts";
import { closeSecureServer, h2Refused, isH2, secureServer, tlsSocketOf } from "./secure-server.ts";
import { NodeTlsContexts, tlsFactsOf } from "./tls.ts";
import { authorityOf, clearSocketPath, listenAll, type Fetchable, type RunningServer, type ServeOptions } from "../common/serve.ts";
import { socketPath } from "../common/socket-file.ts";
import { upgradeListener } from "./upgrade.ts";

export type { Fetchable, RunningServer, ServeOptions };

/** The connection facts a gateway needs, read lazily from the socket. */
class NodeEnv implements ServeEnv {
  readonly #incoming: IncomingMessage;
  readonly #outgoing: ServerResponse;
  #conn: ConnInfo | undefined;
  readonly clientTarget: ClientTarget | undefined;
  readonly #clientAuth: boolean;
  constructor(incoming: IncomingMessage, outgoing: ServerResponse, clientTarget: ClientTarget | undefined, clientAuth: boolean) {
    this.#incoming = incoming;
    this.#outgoing = outgoing;
    this.clientTarget = clientTarget;
    this.#clientAuth = clientAuth;
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
    const secure = tlsSocketOf(this.#incoming);
    this.#conn = {
      remoteAddress: normalizeAddress(socket.remoteAddress ?? ""),
      remotePort: socket.remotePort ?? 0,
      localAddress: normalizeAddress(socket.localAddress ?? ""),
      localPort: socket.localPort ?? 0,
      tls: secure !== undefined,
      httpVersion: this.#incoming.httpVersion,
      ...(secure === undefined ? {} : { tlsFacts: tlsFactsOf(secure, this.#clientAuth) }),
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

/** The path and query a client sent, for the requests whose path serve() normalised. */
const clientTargets = new WeakMap<IncomingMessage, string>();

export async function serve(app: Fetchable, options: ServeOptions): Promise<RunningServer> {
  const appListener = getRequestListener((request, bindings) => {
    const incoming = bindings.incoming as IncomingMessage;
    const outgoing = bindings.outgoing as ServerResponse;
    const target = clientTargets.get(incoming);
    const clientAuth = options.tls !== undefined && options.tls.clientAuth !== "off";
    const response = app.fetch(request, new NodeEnv(incoming, outgoing, target === undefined ? undefined : { url: request.url, target }, clientAuth));
    return response instanceof Response ? withReason(response, outgoing) : response.then((r) => withReason(r, outgoing));
  });
  const limits = withDefaults(options.client);
  const listener = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const socket = incoming.socket;
    // HTTP/2 frames its own head (RFC 9113 §8.3): the HTTP/1.1 refusals and connection counts do not apply.
    if (isH2(incoming)) {
      if (h2Refused(incoming, outgoing, limits)) return;
    } else {
      if (refused(incoming, outgoing, limits)) return;
      countRequest(incoming, outgoing, limits.keepaliveRequests);
    }
    // RFC 9110 §9.3.7: OPTIONS * is about the server, not a resource a URL can name.
    if (incoming.url === "*") {
      outgoing.writeHead(200, { "content-length": 0 });
      outgoing.end();
      return;
    }
    const headers = incoming.headers;
    const sent = incoming.url!;
    // RFC 9112 §3.2.2: the authority of an absolute-form target (checked by
    // checkRequestHead) is the request's host; Host is replaced by it.
    const authority = targetAuthority(sent);
    if (authority !== undefined) replaceHost(incoming, authority);
    // RFC 9112 §3.3: without Host (HTTP/1.0), the authority is the server's address.
    else if (headers.host === undefined) headers.host = authorityOf(socket.localAddress, socket.localPort);
    if (headers["transfer-encoding"] !== undefined) refuseBadTrailers(incoming, outgoing);
    if (!isH2(incoming)) outgoing.once("finish", lingerOnUnreadBody);
    // Routes see the normal path (src/paths.ts); REQUEST_URI keeps the client's.
    const normal = normalTarget(sent, options.encodedSlashes);
    if (normal !== undefined) {
      clientTargets.set(incoming, pathAndQuery(sent));
      incoming.url = normal;
    }
    return appListener(incoming, outgoing);
  };
  // Made with the first https:// server, so that a certificate that does not load is that address's ListenError.
  let contexts: NodeTlsContexts | undefined;
  const { servers, addresses, schemes } = await listenAll<Server>(
    options.listen,
    (addr, servers, secure) => {
      if (secure) contexts ??= new NodeTlsContexts(options.tls!);
      const server = secure ? secureServer(contexts!, serverOptions(limits), limits.keepaliveTimeout, listener) : createServer(serverOptions(limits), listener);
      server.keepAliveTimeout = limits.keepaliveTimeout;
      // Node keeps the first 2000 field lines (its default) and drops the
      // rest unseen, though its parser still frames the request by them: one
      // more than max_headers, so that checkRequestHead sees every field or
      // refuses the head.
      server.maxHeadersCount = limits.maxHeaders + 1;
      server.on("clientError", onClientError);
      server.on("connect", onConnect);
      server.on("upgrade", upgradeListener(app, options, limits));
      // RFC 9110 §10.1.1: 100 Continue goes out once the app reads the body
      // (Node would send it at once), so a request refused on its head (413
      // on its declared length) gets its final answer alone.
      server.on("checkContinue", (incoming: IncomingMessage, outgoing: ServerResponse) => {
        incoming.once("resume", () => {
          if (!outgoing.headersSent && !outgoing.writableEnded) outgoing.writeContinue();
        });
        listener(incoming, outgoing);
      });
      // Other expectations: checkRequestHead answers 417 with postern's page.
      server.on("checkExpectation", listener);
      servers.push(server);
      return listen(server, addr);
    },
    closeServer,
    options.tls,
  );
  return {
    addresses,
    schemes,
    async close() {
      await Promise.all(servers.map((s) => closeServer(s)));
    },
    async reloadTls(material: TlsMaterial) {
      if (contexts === undefined) return ["no https:// address was listened on at start"];
      // Whether a client certificate is asked for is the server's setting, not its context's.
      if (material.clientAuth !== options.tls!.clientAuth) return ["client_auth changes only on a restart; the certificates were not changed either"];
      contexts.replace(material);
      for (const [i, server] of servers.entries()) {
        if (schemes[i] === "https") (server as unknown as { setSecureContext(o: object): void }).setSecureContext(contexts.defaultOptions());
      }
      return [];
    },
  };
}

/** Node's own server settings for the `[client]` limits. */
function serverOptions(limits: ClientLimits): ServerOptions {
  return {
    // Node's parser counts the target, names and values of the head (not the
    // method, version and line ends); checkRequestHead counts the exact bytes.
    // Room for a request line on top, so that one too long is refused 414 by
    // checkRequestHead rather than 431 by the parser.
    maxHeaderSize: limits.maxHeaderBytes + limits.maxRequestLine,
    // Host is checked by checkRequestHead, after the size limits, as Gunicorn does.
    requireHostHeader: false,
    // The whole head within header_timeout of its first byte, or 408 (onClientError).
    headersTimeout: limits.headerTimeout,
    // No deadline on a whole request: a body is timed between reads, by the
    // routes' body_timeout (nginx's client_body_timeout), however long it is.
    requestTimeout: 0,
    // Node looks for late heads this often (30 s by default): a quarter of header_timeout, within 250 ms..5 s.
    connectionsCheckingInterval: Math.min(5_000, Math.max(250, limits.headerTimeout / 4)),
  };
}

/** Sets the Host field both where the URL is built from (`headers`) and where the app's Headers come from (`rawHeaders`). */
function replaceHost(incoming: IncomingMessage, authority: string): void {
  incoming.headers.host = authority;
  const raw = incoming.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === "host") raw[i + 1] = authority;
  }
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
    if (typeof server.closeIdleConnections !== "function") return void closeSecureServer(server).then(resolve);
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
