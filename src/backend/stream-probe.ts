// The active health check (src/backend/health.ts) of a backend that takes one
// request per connection (uwsgi, SCGI): a GET of the check's path in the
// backend's own protocol, on a connection of its own; the status of the
// answer's head (a CGI Status, 200 when absent, RFC 3875 §6.3.3, or an HTTP
// status line) is the result. The path is the app's own: PATH_INFO, decoded
// as a request's is (src/paths.ts safePath), with an empty SCRIPT_NAME, as a
// WSGI app mounted at the root sees it (PEP 3333).

import type { Address } from "../address.ts";
import { StatusLineParser, type HeadParser } from "../cgi/response.ts";
import { safePath } from "../paths.ts";
import type { Duplex, Runtime } from "../runtime.ts";
import type { Probe } from "./health.ts";
import { onProbeConnection } from "./probe-connection.ts";

/** A check's answer head may be as large as this; past it the check fails. */
const MAX_HEAD = 64 * 1024;

/** The probe for `runtime`'s connections, the request encoded by `encode`, the answer's head read by `parser` (a CGI head or one opened by a status line, unless told). */
export function streamProbe(
  runtime: Runtime,
  encode: (vars: Record<string, string>) => Uint8Array,
  parser: (maxHead: number) => HeadParser = (maxHead) => new StatusLineParser({ maxHeaderBytes: maxHead, statusLine: "optional" }),
): Probe {
  return (address, path, timeoutMs, stop) => onProbeConnection(runtime, address, timeoutMs, stop, (duplex) => ask(duplex, encode(probeVars(address, path)), parser(MAX_HEAD)));
}

/** The variables of a GET of `path` (a query after "?") and nothing else: what a WSGI app needs (PEP 3333's required keys). */
function probeVars(address: Address, path: string): Record<string, string> {
  const query = path.indexOf("?");
  return {
    GATEWAY_INTERFACE: "CGI/1.1",
    REQUEST_METHOD: "GET",
    SCRIPT_NAME: "",
    // A path without one was refused with the route's keys.
    PATH_INFO: probePathInfo(path)!,
    QUERY_STRING: query < 0 ? "" : path.slice(query + 1),
    REQUEST_URI: path,
    SERVER_PROTOCOL: "HTTP/1.1",
    SERVER_NAME: address.kind === "tcp" ? address.host : "localhost",
    SERVER_PORT: address.kind === "tcp" ? String(address.port) : "80",
  };
}

/** The decoded PATH_INFO of a check's `path`; a path no request could carry is refused where the route is checked (gateways/stream-gateway.ts). */
export function probePathInfo(path: string): string | undefined {
  const query = path.indexOf("?");
  const safe = safePath(query < 0 ? path : path.slice(0, query));
  return safe.ok ? safe.path : undefined;
}

async function ask(duplex: Duplex, request: Uint8Array, parser: HeadParser): Promise<number> {
  await duplex.write(request);
  for (;;) {
    const chunk = await duplex.read();
    if (chunk === null) throw new Error("the backend closed the connection before an answer");
    const head = parser.push(chunk);
    if (head) return head.status;
  }
}
