// Answer compression on Workers: the platform's CompressionStream, whose only
// HTTP content coding is gzip ("deflate" is zlib-wrapped, which browsers
// decode inconsistently; no brotli or zstd). It cannot be flushed between
// chunks: a streamed answer reaches the client as the compressor's own
// blocks fill.

import type { Compression } from "../../src/runtime.ts";

export const workersCompression: Compression = {
  formats: ["gzip"],
  compressor: (format) => {
    if (format !== "gzip") throw new Error(`no ${format} compressor on this runtime`);
    return new CompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>;
  },
};
