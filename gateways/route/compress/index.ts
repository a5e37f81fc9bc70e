// Answer compression, a route module (lighttpd mod_deflate, nginx gzip,
// Caddy encode): the answer is compressed as it streams, to the encoding the
// client's Accept-Encoding and the route's `compress` list agree on (RFC
// 9110 §12.5.3), with the runtime's native compressors (src/runtime.ts
// Compression). What each chunk of the answer compresses to is flushed at
// once, so that the client gets each part of a backend's streamed answer when
// the backend sends it (nginx's gzip holds it until its buffers fill); a
// flush costs a few bytes per chunk (bench/cases/compress.ts measures it).

import { addVary } from "../../../src/http/vary.ts";
import type { Compression, Encoding } from "../../../src/runtime.ts";
import { changingAnswers, reanswer } from "../answer-module.ts";
import type { RouteModule } from "../index.ts";
import { chooseEncoding } from "./negotiate.ts";
import { typeMatcher } from "./types.ts";

/**
 * Levels for compressing on the fly, where speed counts as much as size:
 * gzip 5 (Caddy's default; zlib's own is 6), brotli 4 (its default, 11, is
 * meant for compressing once ahead of time: about 60 times slower), zstd 3
 * (its default). bench/cases/compress.ts measures each.
 */
export const LEVELS: Record<Encoding, number> = { gzip: 5, br: 4, zstd: 3 };

interface Policy {
  offered: readonly Encoding[];
  compression: Compression;
  compressible: (contentType: string | null) => boolean;
  minSize: number;
}

export const compressModule: RouteModule = {
  wrap(handler, options, route) {
    const wanted = (options.compress as Encoding[] | undefined) ?? [];
    if (wanted.length === 0) return handler;
    const compression = route.runtime.compression;
    const offered = wanted.filter((encoding) => compression?.formats.includes(encoding));
    const missing = wanted.filter((encoding) => !offered.includes(encoding));
    if (compression === undefined) {
      route.runtime.logError(`${route.name}: compress: postern compresses nothing on the ${route.runtime.name} runtime; answers go as the platform sends them`);
    } else if (missing.length > 0) {
      const rest = offered.length > 0 ? `it offers ${offered.join(", ")}` : "its answers go uncompressed";
      route.runtime.logError(`${route.name}: compress: the ${route.runtime.name} runtime has no ${missing.join(", ")} compressor; ${rest}`);
    }
    const policy: Policy = {
      offered,
      compression: compression ?? { formats: [], compressor: () => new TransformStream() },
      compressible: typeMatcher(options.compress_types as string[]),
      minSize: options.compress_min_size as number,
    };
    return changingAnswers(handler, (response, request) => compressed(response, request, policy));
  },
};

/** `response`, compressed when it should be; Vary names Accept-Encoding on every answer that could have been. */
function compressed(response: Response, request: Request, policy: Policy): Response {
  const { status } = response;
  // RFC 9110 §15.3.5 and §15.4.5: 204 and 304 have no content. A 304 still
  // carries the Vary its 200 would (the type it would have is not known here).
  if (status < 200 || status === 204) return response;
  if (status !== 304 && !policy.compressible(response.headers.get("content-type"))) return response;
  const headers = new Headers(response.headers);
  addVary(headers, "Accept-Encoding");
  const encoding = chooseEncoding(request.headers.get("accept-encoding"), policy.offered);
  const head = request.method === "HEAD";
  const sentAsItIs =
    encoding === undefined ||
    status === 304 ||
    // A range is of the uncompressed bytes (RFC 9110 §14.1.2): compressing it would change which bytes it names.
    status === 206 ||
    request.headers.has("range") ||
    // Never compressed twice: the backend's own coding stays.
    headers.has("content-encoding") ||
    // RFC 9110 §7.7 / RFC 9111 §5.2.2.6: the sender forbids transforming the content.
    noTransform(headers.get("cache-control")) ||
    smallerThan(headers.get("content-length"), policy.minSize) ||
    (response.body === null && !head);
  if (sentAsItIs) return reanswer(response, headers);
  headers.set("content-encoding", encoding);
  // The compressed length is not known before it is all sent; ranges would name compressed bytes (nginx clears both).
  headers.delete("content-length");
  headers.delete("accept-ranges");
  // RFC 9110 §8.8.3: a strong ETag promises the same bytes, which a compressed answer is not (nginx weakens it too).
  const etag = headers.get("etag");
  if (etag !== null && !etag.startsWith("W/")) headers.set("etag", `W/${etag}`);
  // HEAD: the headers a GET would have, and no body (RFC 9110 §9.3.2).
  if (head || response.body === null) {
    void response.body?.cancel();
    return reanswer(response, headers, null);
  }
  const compressor = policy.compression.compressor(encoding, { level: LEVELS[encoding], flush: true });
  return reanswer(response, headers, response.body.pipeThrough(compressor));
}

function noTransform(cacheControl: string | null): boolean {
  return cacheControl !== null && cacheControl.split(",").some((directive) => directive.trim().toLowerCase() === "no-transform");
}

/** True when the answer says its length and it is under `min`; an answer of unknown length is compressed. */
function smallerThan(contentLength: string | null, min: number): boolean {
  return contentLength !== null && /^\d+$/.test(contentLength) && Number(contentLength) < min;
}
