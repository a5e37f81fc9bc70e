// The route keys of answer compression (gateways/route/compress/index.ts):
// which encodings, for which media types, from what size.

import type { Schema } from "../../../src/config-schema.ts";

/** The content codings postern compresses to, in its default order of preference. */
export const ENCODINGS = ["zstd", "br", "gzip"] as const;

/**
 * Media types that compress (text, markup, scripts, data, SVG, WebAssembly,
 * uncompressed font and icon formats); images, audio, video, archives and
 * WOFF fonts are compressed already. `type/*` and `type/*+suffix` are
 * patterns (RFC 6839 structured syntax suffixes). Caddy's `encode` default
 * list is close to it; nginx's gzip_types is text/html alone.
 */
export const COMPRESSIBLE_TYPES = [
  "text/*",
  "application/json",
  "application/*+json",
  "application/javascript",
  "application/x-javascript",
  "application/ecmascript",
  "application/xml",
  "application/*+xml",
  "application/wasm",
  "application/x-ndjson",
  "application/graphql-response+json",
  "image/svg+xml",
  "image/x-icon",
  "image/vnd.microsoft.icon",
  "image/bmp",
  "font/ttf",
  "font/otf",
  "application/vnd.ms-fontobject",
];

export const compressFields = {
  compress: {
    type: "string[]",
    oneOf: ENCODINGS,
    doc: 'encodings the route compresses answers to, in its order of preference (`["zstd", "br", "gzip"]`), chosen against the client\'s `Accept-Encoding` (its q-values first); an encoding the runtime lacks is left out (see [Compression](compression.md)). Unset: the top-level `compress`; `[]`: none',
  },
  compress_types: {
    type: "string[]",
    default: COMPRESSIBLE_TYPES,
    doc: "media types compressed (`type/*` and `application/*+json` patterns allowed); the default lists text, JSON, JavaScript, XML, SVG, WebAssembly and uncompressed fonts and icons",
  },
  compress_min_size: {
    type: "size",
    default: 512,
    min: 0,
    doc: "answers whose `Content-Length` is smaller are sent as they are (nginx `gzip_min_length`, Caddy `minimum_length`); one of unknown length is compressed",
  },
} as const satisfies Schema;

/** RFC 9110 §8.3.1 type "/" subtype, tokens, or a pattern: `type/*`, `type/*+suffix` (not a wildcard type: most of what is sent is compressed already). */
const MEDIA_TYPE = /^(?!\*\/)[!#$%&'*+\-.^_`|~0-9a-z]+\/(\*(\+[!#$%&'+\-.^_`|~0-9a-z]+)?|[!#$%&'+\-.^_`|~0-9a-z]+)$/i;

/** What is wrong with a route's compress_types, if anything: an entry that is no media type (a typo would silently match nothing). */
export function compressTypesProblem(options: Record<string, unknown>): { key: string; message: string } | undefined {
  const wrong = ((options.compress_types as string[] | undefined) ?? []).find((type) => !MEDIA_TYPE.test(type));
  return wrong === undefined ? undefined : { key: "compress_types", message: `${JSON.stringify(wrong)} is no media type: write "type/subtype", "type/*" or "type/*+suffix", without parameters` };
}
