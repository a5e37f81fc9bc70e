// A tiny HTTP/1.x client over a raw TCP socket, for requests fetch cannot make
// as written: repeated header lines (fetch merges them), an empty "?" (the URL
// parser drops it), a Proxy header, an exact Host. It sends the bytes it is
// given, reads until the server closes, and parses the answer (RFC 9112).

import { connect } from "node:net";

export interface RawResponse {
  status: number;
  /** Field lines in order, names lower-cased. */
  headers: [string, string][];
  /** The body, chunked coding removed (RFC 9112 §7.1). */
  body: Buffer;
}

/**
 * Sends `request` to 127.0.0.1:port and reads the whole answer; the request
 * should carry `Connection: close`. `from` is the client's source address
 * (another loopback address, such as 127.0.0.2, poses as another peer).
 */
export function rawRequest(port: number, request: string | Uint8Array, timeoutMs = 10_000, from?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ port, host: "127.0.0.1", localAddress: from }, () => socket.write(request));
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no complete answer from port ${port} within ${timeoutMs} ms`)));
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.once("error", reject);
    socket.once("close", (hadError) => {
      if (hadError) return;
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** Builds request bytes: a request line, field lines as given, and the body. */
export function buildRequest(
  method: string,
  target: string,
  headers: [string, string][],
  body?: string | Uint8Array,
  version = "HTTP/1.1",
): Buffer {
  const head = [`${method} ${target} ${version}`, ...headers.map(([n, v]) => `${n}: ${v}`), "", ""].join("\r\n");
  return Buffer.concat([Buffer.from(head, "latin1"), body === undefined ? Buffer.alloc(0) : Buffer.from(body)]);
}

export function parseResponse(bytes: Buffer): RawResponse {
  const end = bytes.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`no end of header in ${JSON.stringify(bytes.toString("latin1").slice(0, 200))}`);
  const [statusLine, ...lines] = bytes.subarray(0, end).toString("latin1").split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine!);
  if (!status) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  let body = bytes.subarray(end + 4);
  const chunked = headers.some(([n, v]) => n === "transfer-encoding" && /chunked/i.test(v));
  if (chunked) body = dechunk(body);
  return { status: Number(status[1]), headers, body };
}

function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", at);
    if (lineEnd < 0) throw new Error("chunked body cut short");
    const size = parseInt(bytes.subarray(at, lineEnd).toString("latin1"), 16);
    if (Number.isNaN(size)) throw new Error("bad chunk size");
    if (size === 0) return Buffer.concat(parts);
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
