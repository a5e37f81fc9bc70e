// HTTP/1.1 Upgrade requests (WebSocket, RFC 6455 §4) on Node's servers: Node
// hands them to the server's "upgrade" event, outside the request handler.
// Its head is first checked as every other request's is (src/http/request-head.ts:
// field count and size, two Hosts, smuggling patterns), since Node's request
// listener, where serve.ts checks them, never sees it. The request then goes
// through the app as any other (routing, trusted proxies, route modules) with
// a ServeEnv.upgrade handoff, its Content-Length body read from the socket
// (Node's parser stops at the head here) for a route that ignores the
// Upgrade; a route that gets a 101 from its backend hands the backend
// connection over, and the bytes are then
// relayed both ways as they come, with backpressure, until either side
// closes. Otherwise the app's answer is written and the connection closed.
// Attach to any server (http, https): `server.on("upgrade", upgradeListener(app, options, limits))`.

import type { IncomingMessage } from "node:http";
import type { Duplex as NodeDuplex } from "node:stream";
import { normalizeAddress, type ConnInfo } from "../../src/cgi/conn.ts";
import { errorPage } from "../../src/http/error-page.ts";
import { checkRequestHead, type RequestHeadLimits } from "../../src/http/request-head.ts";
import { normalTarget, pathAndQuery } from "../../src/paths.ts";
import { reasonPhraseOf } from "../../src/http/reason-phrase.ts";
import type { Duplex, ServeEnv, UpgradeTunnel } from "../../src/runtime.ts";
import { authorityOf, type Fetchable, type ServeOptions } from "../common/serve.ts";

/** The "upgrade" listener serving `app`. */
export function upgradeListener(app: Fetchable, options: Pick<ServeOptions, "encodedSlashes">, limits: RequestHeadLimits) {
  return (incoming: IncomingMessage, socket: NodeDuplex, head: Buffer): void => {
    socket.on("error", () => socket.destroy());
    const refusal = checkRequestHead({ method: incoming.method!, target: incoming.url!, httpVersion: incoming.httpVersion, rawHeaders: incoming.rawHeaders }, limits);
    if (refusal) return refuse(socket, refusal.status);
    // A chunked body comes unparsed through this event (Node's parser stops at the head): 411, as lighttpd answers a chunked body it will not stream.
    if (incoming.headers["transfer-encoding"] !== undefined) return refuse(socket, 411);
    void upgrade(app, options, incoming, socket, head).catch(() => socket.destroy());
  };
}

/** postern's error page for `status`, then the connection closed. */
function refuse(socket: NodeDuplex, status: number): void {
  const page = errorPage(status);
  void answer(socket, new Response(page.body, { status: page.status, headers: page.headers })).catch(() => socket.destroy());
}

/**
 * The Content-Length body after the head (checkRequestHead checked the
 * field), read from the socket as the app reads it; `rest` is what came
 * after it, for a tunnel, or undefined while the body is not read whole.
 */
function lengthBody(socket: NodeDuplex, head: Buffer, length: number): { body: ReadableStream<Uint8Array>; rest: () => Buffer | undefined } {
  let remaining = length;
  let rest: Buffer | undefined;
  socket.pause();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const take = (chunk: Buffer) => {
        const part = chunk.subarray(0, remaining);
        remaining -= part.byteLength;
        if (part.byteLength > 0) controller.enqueue(new Uint8Array(part));
        if (remaining > 0) {
          if ((controller.desiredSize ?? 1) <= 0) socket.pause();
          return;
        }
        socket.pause();
        socket.off("data", take);
        socket.off("close", early);
        rest = chunk.subarray(part.byteLength);
        controller.close();
      };
      const early = () => controller.error(new Error("the client closed before the end of the body"));
      socket.on("data", take);
      socket.once("close", early);
      take(head);
    },
    pull() {
      if (remaining > 0) socket.resume();
    },
  });
  return { body, rest: () => rest };
}

async function upgrade(app: Fetchable, options: Pick<ServeOptions, "encodedSlashes">, incoming: IncomingMessage, socket: NodeDuplex, head: Buffer): Promise<void> {
  const sent = incoming.url!;
  const normal = normalTarget(sent, options.encodedSlashes);
  const net = incoming.socket;
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const host = headers.get("host") ?? authorityOf(net.localAddress, net.localPort);
  // RFC 9110 §7.8: a server may ignore Upgrade (h2c from `curl --http2`, say), and then the request is an ordinary one, body included.
  const length = Number(incoming.headers["content-length"] ?? 0);
  const declared = length > 0 ? lengthBody(socket, head, length) : undefined;
  const request = new Request(`http://${host}${pathAndQuery(normal ?? sent)}`, {
    method: incoming.method,
    headers,
    ...(declared === undefined ? {} : { body: declared.body, duplex: "half" }),
  });
  let tunnel: UpgradeTunnel | undefined;
  const conn: ConnInfo = {
    remoteAddress: normalizeAddress(net.remoteAddress ?? ""),
    remotePort: net.remotePort ?? 0,
    localAddress: normalizeAddress(net.localAddress ?? ""),
    localPort: net.localPort ?? 0,
    tls: "encrypted" in net && net.encrypted === true,
    httpVersion: incoming.httpVersion,
  };
  const env: ServeEnv = {
    conn,
    ...(normal === undefined ? {} : { clientTarget: { url: request.url, target: pathAndQuery(sent) } }),
    onClientGone(listener) {
      if (socket.destroyed) {
        queueMicrotask(listener);
        return () => undefined;
      }
      socket.once("close", listener);
      return () => socket.off("close", listener);
    },
    upgrade: { accept: (t) => void (tunnel = t) },
  };
  const response = await app.fetch(request, env);
  if (tunnel === undefined) return answer(socket, response);
  // Bytes after a body not read whole are the body's, not the tunnel's: no tunnel then.
  const first = declared === undefined ? head : declared.rest();
  if (first === undefined) {
    tunnel.duplex.close();
    socket.destroy();
    return;
  }
  let text = "HTTP/1.1 101 Switching Protocols\r\n";
  for (const [name, value] of tunnel.headers) text += `${name}: ${value}\r\n`;
  socket.write(Buffer.from(`${text}\r\n`, "latin1"));
  if (tunnel.rest.byteLength > 0) socket.write(tunnel.rest);
  relay(socket, tunnel.duplex, first);
}

/**
 * The app did not upgrade: its answer, then the connection closed (RFC 9110
 * §7.8: the client may send nothing more on it), the body streamed with
 * backpressure and ended by the close (RFC 9112 §6.3).
 */
async function answer(socket: NodeDuplex, response: Response): Promise<void> {
  let text = `HTTP/1.1 ${response.status} ${reasonPhraseOf(response) ?? response.statusText}\r\n`;
  for (const [name, value] of response.headers) {
    if (name !== "connection" && name !== "transfer-encoding" && name !== "keep-alive") text += `${name}: ${value}\r\n`;
  }
  socket.write(Buffer.from(`${text}connection: close\r\n\r\n`, "latin1"));
  const reader = response.body?.getReader();
  try {
    for (let r = await reader?.read(); r && !r.done && !socket.destroyed; r = await reader!.read()) {
      if (!socket.write(r.value)) await new Promise((resolve) => socket.once("drain", resolve).once("close", resolve));
    }
  } finally {
    void reader?.cancel().catch(() => undefined);
    socket.end();
  }
}

/** Bytes both ways, each side's reads paused while the other has not taken its last write. */
function relay(socket: NodeDuplex, backend: Duplex, first: Buffer): void {
  let done = false;
  const close = () => {
    if (done) return;
    done = true;
    backend.close();
    socket.destroy();
  };
  const toBackend = (chunk: Buffer) => {
    socket.pause();
    backend.write(chunk).then(() => socket.resume(), close);
  };
  if (first.byteLength > 0) toBackend(first);
  socket.on("data", toBackend);
  socket.on("end", close);
  socket.on("close", close);
  const toClient = async () => {
    for (let chunk = await backend.read(); chunk !== null && !done; chunk = await backend.read()) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve).once("close", resolve));
    }
  };
  toClient().then(
    () => {
      // The backend closed: what was written reaches the client before its connection ends.
      backend.close();
      socket.end();
    },
    close,
  );
}
