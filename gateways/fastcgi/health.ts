// The active health check of a FastCGI backend (src/backend/health.ts): a
// real Responder request (FastCGI spec §6.2) for the check's path, on a
// connection of its own, whose CGI Status (RFC 3875 §6.3.3, 200 when absent)
// is the result. php-fpm answers such a request itself when the pool sets
// `ping.path` to it (with "pong"), without running a script; any other path
// runs the script of that name under the route's root, as a request would.

import type { Address } from "../../src/address.ts";
import type { Probe } from "../../src/backend/health.ts";
import { onProbeConnection } from "../../src/backend/probe-connection.ts";
import { CgiResponseParser } from "../../src/cgi/response.ts";
import type { Duplex, Runtime } from "../../src/runtime.ts";
import { RecordReader } from "./reader.ts";
import { RecordType } from "./record.ts";
import { encodeRequestStart } from "./request.ts";

/** The probe for `runtime`'s connections, naming scripts under `root`. */
export function fastcgiProbe(runtime: Runtime, root: string): Probe {
  return (address, path, timeoutMs, stop) => onProbeConnection(runtime, address, timeoutMs, stop, (duplex) => ask(duplex, params(address, root, path)));
}

/** The params of a GET of `path` (a query after "?") with nothing else: what a ping handler or a small script needs. */
function params(address: Address, root: string, path: string): [string, string][] {
  const query = path.indexOf("?");
  const script = query < 0 ? path : path.slice(0, query);
  return [
    ["GATEWAY_INTERFACE", "CGI/1.1"],
    ["REQUEST_METHOD", "GET"],
    ["SCRIPT_NAME", script],
    ["SCRIPT_FILENAME", root + script],
    ["DOCUMENT_ROOT", root],
    ["REQUEST_URI", path],
    ["QUERY_STRING", query < 0 ? "" : path.slice(query + 1)],
    ["SERVER_PROTOCOL", "HTTP/1.1"],
    ["SERVER_NAME", address.kind === "tcp" ? address.host : "localhost"],
  ];
}

async function ask(duplex: Duplex, params: [string, string][]): Promise<number> {
  await duplex.write(encodeRequestStart(1, 0, params, null));
  const records = new RecordReader();
  const head = new CgiResponseParser();
  let status: number | undefined;
  let ended = false;
  while (status === undefined && !ended) {
    const chunk = await duplex.read();
    if (chunk === null) break;
    records.push(chunk, (record) => {
      if (record.type === RecordType.STDOUT && status === undefined && record.content.byteLength > 0) {
        status = head.push(record.content)?.status;
      } else if (record.type === RecordType.END_REQUEST) {
        ended = true;
      }
    });
  }
  if (status === undefined) throw new Error("the backend ended without an answer");
  return status;
}
