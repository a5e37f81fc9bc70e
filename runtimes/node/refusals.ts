// Requests Node's server must refuse itself: the ones its parser rejects
// (answered instead of a silent close), the ones src/http/request-head.ts
// refuses, CONNECT, forbidden fields in a chunked body's trailer, the rest
// of a body its answer did not wait for, and requests past
// keepalive_requests.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { errorPage } from "../../src/http/error-page.ts";
import { checkRequestHead, checkTrailers, type RequestHeadLimits } from "../../src/http/request-head.ts";

/**
 * Answers a request checkRequestHead refuses (and anything pipelined behind
 * one, RFC 9112 §9.6: it may be a smuggled request) with Connection: close.
 * True when the request must not reach the app.
 */
export function refused(incoming: IncomingMessage, outgoing: ServerResponse, limits: RequestHeadLimits): boolean {
  const socket = incoming.socket;
  if (closing.has(socket)) return true;
  const refusal = checkRequestHead(
    { method: incoming.method!, target: incoming.url!, httpVersion: incoming.httpVersion, rawHeaders: incoming.rawHeaders },
    limits,
  );
  if (!refusal) return false;
  closing.add(socket);
  const page = errorPage(refusal.status, { close: true });
  outgoing.writeHead(page.status, page.reason, page.headers);
  outgoing.end(page.body);
  return true;
}

/** Sockets whose connection ends after the current answer: no further request on them reaches the app. */
const closing = new WeakSet<Duplex>();
/** Requests each connection has carried, for keepalive_requests. */
const carried = new WeakMap<Duplex, number>();

/**
 * keepalive_requests: the last request a connection may carry is answered
 * with Connection: close, and what is pipelined behind it is left unanswered
 * (RFC 9112 §9.6), for the client to send again on a new connection
 * (RFC 9112 §9.3.2). Node's own maxRequestsPerSocket answers those 503,
 * which a client takes as the server's final word on them.
 */
export function countRequest(incoming: IncomingMessage, outgoing: ServerResponse, limit: number): void {
  const socket = incoming.socket;
  const count = (carried.get(socket) ?? 0) + 1;
  carried.set(socket, count);
  if (count < limit) return;
  closing.add(socket);
  outgoing.shouldKeepAlive = false;
}
/** How long a refused connection is kept open to read what the client still sends, so that a reset does not eat the answer (nginx's lingering close). */
const LINGER_MS = 2_000;

/** The socket field Node's own clientError fallback reads to see whether a response is under way. */
interface HttpSocket {
  _httpMessage?: ServerResponse | null;
}

/** Node's parser refused the bytes (llhttp error codes `HPE_*`): answer like Node's fallback, with postern's body, or close. */
export function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (closing.has(socket)) return; // the same broken stream, reported again
  closing.add(socket);
  const inFlight = (socket as unknown as HttpSocket)._httpMessage;
  if (err.code === "HPE_CLOSED_CONNECTION") {
    // Bytes after a request that closes the connection (RFC 9112 §9.6): they
    // are not a request; the answer under way still goes out, then Node closes.
    if (!inFlight) socket.end();
    return;
  }
  const status = statusForParseError(err.code);
  // An answer can only go out before the in-flight response's first byte.
  if (status !== undefined && socket.writable && !inFlight?.headersSent) answerAndClose(socket, status);
  else socket.destroy();
}

function statusForParseError(code: string | undefined): number | undefined {
  if (code === "HPE_HEADER_OVERFLOW") return 431;
  if (code === "HPE_CHUNK_EXTENSIONS_OVERFLOW") return 413;
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return 408;
  if (code?.startsWith("HPE_")) return 400;
  return undefined; // a socket error (reset, timeout): nobody to answer
}

/** CONNECT makes a tunnel (RFC 9110 §9.3.6); postern is not a forward proxy. */
export function onConnect(_request: IncomingMessage, socket: Duplex): void {
  closing.add(socket);
  answerAndClose(socket, 501);
}

/**
 * A Host, Content-Length or Transfer-Encoding in the trailer section
 * (RFC 9110 §6.5.1) is known only once the body has been read, after the app
 * started. Node sets rawTrailers just before it ends the body stream
 * (push(null)); the end is held back, so the app never sees a whole body, and
 * the client gets 400 if no response has started.
 */
export function refuseBadTrailers(incoming: IncomingMessage, outgoing: ServerResponse): void {
  const push = incoming.push;
  incoming.push = function (chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null && incoming.rawTrailers.length > 0) {
      const refusal = checkTrailers(incoming.rawTrailers);
      if (refusal) {
        const socket = incoming.socket;
        closing.add(socket);
        // The parser has marked the message complete; @hono/node-server hands
        // the app the bytes of a complete message whose connection closed.
        incoming.complete = false;
        if (socket.writable && !outgoing.headersSent) answerAndClose(socket, refusal.status);
        else socket.destroy();
        return false;
      }
    }
    return push.call(this, chunk, encoding);
  };
}

/**
 * An answer may end before its request's body has come (a static file for a
 * GET with a body, an app that reads none). Node then reads the rest to get
 * to the next request, with no deadline but keepAliveTimeout between reads:
 * a body trickled in a byte at a time would hold the connection for ever
 * (slowloris). Like nginx's lingering_time, the rest gets LINGER_MS to come
 * in whole; after that the connection is closed. The answer's "finish"
 * listener, one function for every request.
 */
export function lingerOnUnreadBody(this: ServerResponse): void {
  const incoming = this.req;
  if (incoming.complete) return;
  const socket = incoming.socket;
  incoming.resume(); // read and drop it, as Node does with a body nobody reads
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  const done = () => clearTimeout(timer);
  incoming.once("end", done);
  socket.once("close", done);
}

/** Writes postern's error page with Connection: close, then closes once the client has had time to read it. */
function answerAndClose(socket: Duplex, status: number): void {
  const page = errorPage(status, { close: true });
  const fields = Object.entries(page.headers).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  socket.end(`HTTP/1.1 ${page.status} ${page.reason}\r\n${fields}\r\n${page.body}`, "latin1");
  socket.resume(); // keep reading (and dropping) what the client still sends
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
}

