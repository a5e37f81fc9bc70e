// The limits and timeouts postern holds every client to (the top-level
// `[client]` table of postern.toml, nginx's client_* family): how big a
// request head may be, how long its parts may take to arrive, how long an
// idle kept connection stays open. Each default is at least as strict as
// nginx's, lighttpd 1.4's and Gunicorn's (README "Limits and timeouts for
// clients"). The runtimes' serve() enforce them (runtimes/*/serve.ts).

import type { Schema } from "./config-schema.ts";

export interface ClientLimits {
  /** Longest request line, `method SP target SP HTTP/x.y`; beyond it 414 (RFC 9112 §3). */
  maxRequestLine: number;
  /** Longest field line, `name: value` plus CRLF; beyond it 431 (RFC 6585 §5). */
  maxHeaderSize: number;
  /** Most field lines; beyond it 431. */
  maxHeaders: number;
  /** Bytes of the whole head, request line and field lines; beyond it 431. */
  maxHeaderBytes: number;
  /** The whole head must arrive within this (ms) of its first byte (slowloris); else 408 and the connection closes. */
  headerTimeout: number;
  /** Longest wait (ms) for the next bytes of a request body: each route's `body_timeout` unless it sets its own. */
  bodyTimeout: number;
  /** Longest wait (ms) for a client to take more of its answer: each route's `send_timeout` unless it sets its own. */
  sendTimeout: number;
  /** How long (ms) a kept connection may sit idle between requests. */
  keepaliveTimeout: number;
  /** Requests one connection may carry; the last answer says Connection: close. */
  keepaliveRequests: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  maxRequestLine: 4094, // Gunicorn's limit_request_line
  maxHeaderSize: 8190, // Gunicorn's limit_request_field_size
  maxHeaders: 100, // Gunicorn's limit_request_fields
  maxHeaderBytes: 8192, // lighttpd's server.max-request-field-size
  headerTimeout: 30_000, // Gunicorn's worker timeout; nginx and lighttpd wait 60 s
  bodyTimeout: 60_000, // nginx's client_body_timeout, lighttpd's server.max-read-idle
  sendTimeout: 60_000, // nginx's send_timeout
  keepaliveTimeout: 5_000, // lighttpd's server.max-keep-alive-idle
  keepaliveRequests: 1000, // nginx's keepalive_requests, lighttpd's server.max-keep-alive-requests
};

const d = DEFAULT_CLIENT_LIMITS;

/** The keys of `[client]`, in postern.toml's spelling. */
export const CLIENT_SCHEMA: Schema = {
  max_request_line: { type: "size", default: d.maxRequestLine, min: 16, doc: "longest request line (method, target, version); beyond it 414" },
  max_header_size: { type: "size", default: d.maxHeaderSize, min: 16, doc: "longest header field line (`name: value`); beyond it 431" },
  max_headers: { type: "integer", default: d.maxHeaders, min: 1, doc: "most header field lines in a request; beyond it 431" },
  max_header_bytes: { type: "size", default: d.maxHeaderBytes, min: 64, doc: "bytes of the whole request head (request line, field lines, line ends); beyond it 431. The smaller of this and `max_header_size` is what a single field can reach" },
  header_timeout: { type: "duration", default: d.headerTimeout, min: 1, doc: "the whole request head must arrive within this of its first byte (a connection's first request: of the connection), however steadily it trickles in (slowloris); else 408 and the connection is closed" },
  body_timeout: { type: "duration", default: d.bodyTimeout, min: 1, doc: "longest wait for the next bytes of a request body; beyond it 408 and the connection is closed. The default of every route's `body_timeout`" },
  send_timeout: { type: "duration", default: d.sendTimeout, min: 1, doc: "longest wait for a client to take more of its answer; beyond it the connection is cut. The default of every route's `send_timeout`" },
  keepalive_timeout: { type: "duration", default: d.keepaliveTimeout, min: 1, doc: "how long a kept client connection may sit idle between requests (a route's `keepalive_timeout` is about its backend connections)" },
  keepalive_requests: { type: "integer", default: d.keepaliveRequests, min: 1, doc: "requests one client connection may carry; the last answer says `Connection: close`" },
};

/** The ClientLimits of a validated `[client]` table. */
export function clientLimits(table: Record<string, unknown>): ClientLimits {
  return {
    maxRequestLine: table.max_request_line as number,
    maxHeaderSize: table.max_header_size as number,
    maxHeaders: table.max_headers as number,
    maxHeaderBytes: table.max_header_bytes as number,
    headerTimeout: table.header_timeout as number,
    bodyTimeout: table.body_timeout as number,
    sendTimeout: table.send_timeout as number,
    keepaliveTimeout: table.keepalive_timeout as number,
    keepaliveRequests: table.keepalive_requests as number,
  };
}

/**
 * A route's `body_timeout` and `send_timeout` default to `[client]`'s: a
 * route that does not write its own (`written`, the route's TOML table) gets
 * them in its validated `options`.
 */
export function inheritClientTimeouts(options: Record<string, unknown>, written: Record<string, unknown>, client: ClientLimits): void {
  const inherited: Record<string, number> = { body_timeout: client.bodyTimeout, send_timeout: client.sendTimeout };
  for (const [key, value] of Object.entries(inherited)) {
    if (Object.hasOwn(options, key) && !Object.hasOwn(written, key)) options[key] = value;
  }
}

/** `limits` with every key it leaves out at its default. */
export function withDefaults(limits: Partial<ClientLimits> | undefined): ClientLimits {
  return { ...DEFAULT_CLIENT_LIMITS, ...limits };
}
