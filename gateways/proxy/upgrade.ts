// A proxied upgrade (RFC 9110 §7.8; RFC 6455 §4 for WebSocket): the
// client's request with its Upgrade goes to a backend; a 101 hands the
// backend connection to the server (ServeEnv.upgrade), which relays it both
// ways until either side closes, holding the backend's slot (max_conns) as
// long; any other answer is the client's, read whole and the connection
// closed (an upgrade request is never followed by another on it).

import { BackendDropped, sendWithRetry } from "../../src/backend/retry.ts";
import type { StreamConnection, StreamTimeouts } from "../../src/backend/stream-exchange.ts";
import type { Upstream } from "../../src/backend/upstream.ts";
import { GatewayError } from "../../src/errors.ts";
import { concatBytes } from "../../src/io/bytes.ts";
import type { Lease } from "../../src/pool.ts";
import type { Duplex, ServeEnv, UpgradeHandoff } from "../../src/runtime.ts";
import { responseFraming } from "./framing.ts";
import { ChunkedDecoder } from "./chunked.ts";
import { malformed, ResponseHeadParser, type ResponseHead } from "./response-head.ts";

/** Fields of this hop's connection, never passed on from the backend's answer (RFC 9110 §7.6.1); the 101's Connection and Upgrade are set anew. */
const HOP_BY_HOP = new Set(["connection", "upgrade", "keep-alive", "transfer-encoding", "content-length", "te", "trailer"]);

/** A refusal's body is passed on whole, up to this size; past it 502. */
const MAX_REFUSAL_BODY = 1024 * 1024;

/** The server's handoff, where the server offers one for this request. */
export function upgradeOf(env: unknown): UpgradeHandoff | undefined {
  return (env as Partial<ServeEnv> | undefined)?.upgrade;
}

/** RFC 6455 §4.1: a GET whose Connection names Upgrade (RFC 9110 §7.8), to websocket. */
export function isUpgrade(request: Request): boolean {
  const connection = request.headers.get("connection");
  const upgrade = request.headers.get("upgrade");
  return (
    request.method === "GET" &&
    upgrade !== null &&
    upgrade.split(",").some((t) => t.trim().toLowerCase() === "websocket") &&
    connection !== null &&
    connection.split(",").some((t) => t.trim().toLowerCase() === "upgrade")
  );
}

export interface UpgradeRequest {
  /** The request head, Upgrade and `Connection: upgrade` in it. */
  head: Uint8Array;
  /** The request's hash key, for `balance = "hash"`. */
  key?: string;
  timeouts: StreamTimeouts;
  maxHeaderBytes: number;
}

/**
 * Sends the upgrade request; resolves with the Response the app returns: on a
 * 101 a placeholder the server ignores (the tunnel went to `handoff`), else
 * the backend's refusal as it answered it.
 */
export function proxyUpgrade(upstream: Upstream<StreamConnection>, handoff: UpgradeHandoff, req: UpgradeRequest): Promise<Response> {
  return sendWithRetry(upstream, { repeatable: true, key: req.key }, async (lease) => {
    const duplex = lease.conn.duplex;
    try {
      try {
        await duplex.write(req.head);
      } catch (err) {
        throw new BackendDropped(`writing the request: ${(err as Error).message}`, err);
      }
      const { head, rest } = await readHead(duplex, req, lease);
      if (head.status === 101) {
        handoff.accept({ headers: switchedFields(head), rest, duplex: tunnelOf(lease) });
        return new Response(null, { status: 200 });
      }
      const response = await refusal(duplex, head, rest, req.timeouts.idleMs);
      lease.release(false);
      return response;
    } catch (err) {
      lease.release(false);
      throw err;
    }
  });
}

async function readHead(duplex: Duplex, req: UpgradeRequest, lease: Lease<StreamConnection>): Promise<{ head: ResponseHead; rest: Uint8Array }> {
  let parser = new ResponseHeadParser(req.maxHeaderBytes);
  let began = false;
  for (;;) {
    const chunk = await within(duplex, began ? req.timeouts.idleMs : req.timeouts.firstByteMs, began ? "BACKEND_IDLE_TIMEOUT" : "BACKEND_FIRST_BYTE_TIMEOUT");
    if (chunk === null) {
      if (!began) throw new BackendDropped("connection closed before an answer", undefined);
      throw malformed("connection closed before the head was complete");
    }
    if (!began) lease.answered();
    began = true;
    for (let input = chunk; ; ) {
      const head = parser.push(input);
      if (head === null) break;
      const rest = parser.takeRest();
      // RFC 9110 §15.2: interim answers before the 101 (or the refusal) are not passed on.
      if (head.status >= 200 || head.status === 101) return { head, rest };
      parser = new ResponseHeadParser(req.maxHeaderBytes);
      input = rest;
      if (input.byteLength === 0) break;
    }
  }
}

/**
 * The 101's fields for the client: the backend's, Connection and Upgrade as
 * RFC 9110 §7.8 wants them. The backend was asked for websocket alone: a
 * switch to anything else (h2c above all, which would let the client speak
 * HTTP/2 to the backend past every route and module here: "h2c smuggling")
 * is refused.
 */
function switchedFields(head: ResponseHead): [string, string][] {
  const upgrade = head.headers.find(([name]) => name.toLowerCase() === "upgrade")?.[1];
  if (upgrade === undefined) throw malformed("101 without Upgrade");
  if (upgrade.trim().toLowerCase() !== "websocket") throw malformed(`101 to ${JSON.stringify(upgrade)}, not websocket`);
  const named = new Set(
    head.headers
      .filter(([name]) => name.toLowerCase() === "connection")
      .flatMap(([, value]) => value.split(",").map((t) => t.trim().toLowerCase())),
  );
  const kept = head.headers.filter(([name]) => passedOn(name) && !named.has(name.toLowerCase()));
  return [["connection", "upgrade"], ["upgrade", upgrade], ...kept];
}

function passedOn(name: string): boolean {
  const lower = name.toLowerCase();
  return !HOP_BY_HOP.has(lower) && !lower.startsWith("proxy-");
}

/** The backend connection as the server relays it; closing it frees the backend's slot. */
function tunnelOf(lease: Lease<StreamConnection>): Duplex {
  const duplex = lease.conn.duplex;
  let released = false;
  return {
    read: () => duplex.read(),
    write: (bytes) => duplex.write(bytes),
    close: () => {
      if (released) return;
      released = true;
      lease.release(false);
    },
    get closed() {
      return duplex.closed;
    },
  };
}

/** The backend's refusal of the upgrade, its body read whole by its framing. */
async function refusal(duplex: Duplex, head: ResponseHead, rest: Uint8Array, idleMs: number): Promise<Response> {
  const framing = responseFraming(head, false).body;
  const chunked = framing.kind === "chunked" ? new ChunkedDecoder(MAX_REFUSAL_BODY) : undefined;
  const parts: Uint8Array[] = [];
  let size = 0;
  const take = (chunk: Uint8Array): boolean => {
    const data = chunked ? chunked.push(chunk) : [chunk];
    for (const part of data) {
      parts.push(part);
      size += part.byteLength;
    }
    if (size > MAX_REFUSAL_BODY) throw malformed(`a refused upgrade's body over ${MAX_REFUSAL_BODY} bytes`);
    if (chunked) return chunked.done;
    return framing.kind === "length" ? size >= framing.length : framing.kind === "none";
  };
  let done = take(rest);
  while (!done) {
    const chunk = await within(duplex, idleMs, "BACKEND_IDLE_TIMEOUT");
    if (chunk === null) {
      if (framing.kind !== "close") throw new GatewayError("BACKEND_UNREACHABLE", "connection closed before the end of the body");
      break;
    }
    done = take(chunk);
  }
  let body = concatBytes(parts);
  if (framing.kind === "length") body = body.subarray(0, framing.length);
  const headers = new Headers();
  for (const [name, value] of head.headers) if (passedOn(name)) headers.append(name, value);
  return new Response(framing.kind === "none" ? null : (body as Uint8Array<ArrayBuffer>), { status: head.status, statusText: head.statusText, headers });
}

/** The next chunk from the backend within `ms`, else the timeout's error (the connection is closed by the caller). */
function within(duplex: Duplex, ms: number, code: "BACKEND_IDLE_TIMEOUT" | "BACKEND_FIRST_BYTE_TIMEOUT"): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new GatewayError(code, `no answer from the backend in ${ms} ms`)), ms);
    duplex.read().then(
      (chunk) => {
        clearTimeout(timer);
        resolve(chunk);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(new BackendDropped(`connection reset: ${(err as Error).message}`, err));
      },
    );
  });
}
