// The answer that sends a file: validators, conditional requests and byte
// ranges (RFC 9110 §8.8, §13, §14), for the static route and for a file a
// backend names with X-Sendfile (../sendfile.ts).

import { getMimeType } from "hono/utils/mime";
import type { FileStat } from "../../src/runtime.ts";
import { ifRangeMatches, notModified, validatorsOf, type Validators } from "./conditional.ts";
import { parseRange, type ByteRange } from "./range.ts";

export interface FileAnswerOptions {
  /** Send a weak ETag and answer If-None-Match. */
  etag: boolean;
  cacheControl?: string;
  /**
   * Fields to start from (a backend's, for X-Sendfile): kept, but for those
   * the file decides (length, range, validators); their Content-Type wins
   * over the one the name gives.
   */
  fields?: Headers;
}

/** Fields the file's own answer sets, never taken from `fields`. */
const FILE_FIELDS = ["content-length", "content-range", "accept-ranges", "etag", "last-modified", "content-encoding"];

/**
 * The answer for `file` (its stat, and `name`: the path whose extension gives
 * its type); `body` gives its bytes from the opened file, and is called only
 * for an answer that has them.
 */
export function fileResponse(
  request: Request,
  file: { stat: FileStat; name: string },
  options: FileAnswerOptions,
  body: (range: ByteRange) => ReadableStream<Uint8Array>,
): Response {
  const { size } = file.stat;
  const validators = validatorsOf(file.stat, options.etag);
  const headers = new Headers(options.fields);
  for (const name of FILE_FIELDS) headers.delete(name);
  headers.set("last-modified", new Date(validators.lastModified).toUTCString());
  if (validators.etag) headers.set("etag", validators.etag);
  if (options.cacheControl) headers.set("cache-control", options.cacheControl);
  // RFC 9110 §13.2.2: preconditions come before Range; §15.4.5: a 304 carries
  // the validators and Cache-Control a 200 would, and no content.
  if (notModified(request.headers, validators)) {
    headers.delete("content-type");
    return new Response(null, { status: 304, headers });
  }

  // The type follows the name asked for (nginx: the URI's extension), not a symlink's target.
  if (!headers.has("content-type")) headers.set("content-type", getMimeType(file.name) ?? "application/octet-stream");
  headers.set("accept-ranges", "bytes");
  const range = requestedRange(request, size, validators);
  if (range === "unsatisfiable") {
    // RFC 9110 §15.5.17: 416 names the current length.
    return new Response(null, { status: 416, headers: { "content-range": `bytes */${size}`, "content-length": "0" } });
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  headers.set("content-length", String(end - start + 1));
  if (range) headers.set("content-range", `bytes ${start}-${end}/${size}`);
  const status = range ? 206 : 200;
  if (request.method === "HEAD" || size === 0) return new Response(null, { status, headers });
  // The range is given even for the whole file: a file grown since stat
  // must not send more bytes than Content-Length announced.
  return new Response(body({ start, end }), { status, headers });
}

/**
 * The Range to honour, if any. RFC 9110 §14.2: Range is defined for GET only;
 * §13.1.5: If-Range decides between the range and the whole file. A zero-length
 * file has no byte to select, so its Range is ignored.
 */
function requestedRange(request: Request, size: number, validators: Validators): ByteRange | "unsatisfiable" | undefined {
  const header = request.headers.get("range");
  if (request.method !== "GET" || header === null || size === 0) return undefined;
  const ifRange = request.headers.get("if-range");
  if (ifRange !== null && !ifRangeMatches(ifRange, validators)) return undefined;
  return parseRange(header, size);
}
