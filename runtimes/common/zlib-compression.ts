// Answer compression through node:zlib, which Node, Bun and Deno all have:
// gzip (RFC 1952), brotli (RFC 7932) and, where the platform's zlib has it,
// zstd (RFC 8878: Node >= 22.15 and 23.8, Bun, Deno; Node 20 has none). Each
// compressor is a Web TransformStream over a zlib stream; a flush after a
// chunk ends the deflate block on a byte boundary (Z_SYNC_FLUSH: an empty
// stored block, 4 or 5 bytes; brotli and zstd's flush likewise keep the
// window), so that the client can decode all it has received.

import type { Transform } from "node:stream";
import * as zlib from "node:zlib";
import type { Compression, Encoding } from "../../src/runtime.ts";

type ZlibStream = Transform & { flush(kind: number, callback: () => void): void };

/** What node:zlib has of zstd where it has it: Node 20's type declarations name none of it. */
interface ZstdZlib {
  createZstdCompress?(options: { params: Record<number, number> }): ZlibStream;
  constants: { ZSTD_c_compressionLevel: number; ZSTD_c_windowLog: number; ZSTD_e_flush: number };
}
const zstd = zlib as unknown as ZstdZlib;

interface Codec {
  create(level: number): ZlibStream;
  flush: number;
}

const { constants } = zlib;

/**
 * log2 of the window each answer's compressor keeps, 512 KiB (nginx's
 * brotli_window default): the memory an answer holds while its client reads
 * it slowly, and what the client's decoder must allocate too. brotli's
 * default is 4 MiB (RFC 7932 §9.2, lgwin 22) and zstd's at level 3 2 MiB:
 * a thousand slow downloads would hold gigabytes. A smaller window costs
 * only matches farther back than 512 KiB.
 */
const WINDOW_LOG = 19;

const codecs: Partial<Record<Encoding, Codec>> = {
  gzip: { create: (level) => zlib.createGzip({ level }), flush: constants.Z_SYNC_FLUSH },
  br: {
    create: (level) => zlib.createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: level, [constants.BROTLI_PARAM_LGWIN]: WINDOW_LOG } }),
    flush: constants.BROTLI_OPERATION_FLUSH,
  },
  // Present only where the platform's zlib has it (typeof: Node 20's has not).
  ...(typeof zstd.createZstdCompress === "function"
    ? {
        zstd: {
          create: (level: number) => zstd.createZstdCompress!({ params: { [zstd.constants.ZSTD_c_compressionLevel]: level, [zstd.constants.ZSTD_c_windowLog]: WINDOW_LOG } }),
          flush: zstd.constants.ZSTD_e_flush,
        },
      }
    : {}),
};

function compressor(format: Encoding, { level, flush }: { level: number; flush: boolean }): TransformStream<Uint8Array, Uint8Array> {
  const codec = codecs[format];
  if (!codec) throw new Error(`no ${format} compressor on this runtime`);
  const stream = codec.create(level);
  let output!: TransformStreamDefaultController<Uint8Array>;
  let failed: Error | undefined;
  stream.on("data", (bytes: Buffer) => {
    // Output of a write already under way may come after the reader went away (a client gone, which not every runtime tells `cancel`): it is dropped, never thrown from this event.
    try {
      output.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch {
      stream.destroy();
    }
  });
  stream.on("error", (err: Error) => {
    failed = err;
    try {
      output.error(err);
    } catch {
      // Errored or closed already.
    }
  });
  // Settles once zlib has done `run`'s work (its output already enqueued), or rejects when the stream fails.
  const step = (run: (done: () => void) => void) =>
    new Promise<void>((resolve, reject) => {
      if (failed) return reject(failed);
      const fail = (err: Error) => reject(err);
      stream.once("error", fail);
      run(() => {
        stream.off("error", fail);
        if (failed) reject(failed);
        else resolve();
      });
    });
  // `cancel` (a client gone) frees zlib's memory at once; the lib's Transformer type does not name it yet.
  const transformer = {
    start(controller: TransformStreamDefaultController<Uint8Array>) {
      output = controller;
    },
    async transform(chunk: Uint8Array) {
      await step((done) => stream.write(chunk, done));
      if (flush) await step((done) => stream.flush(codec.flush, done));
    },
    async flush() {
      await step((done) => {
        stream.once("end", done);
        stream.end();
      });
    },
    cancel() {
      stream.destroy();
    },
  };
  return new TransformStream(transformer);
}

export const zlibCompression: Compression = {
  formats: (["zstd", "br", "gzip"] as const).filter((format) => codecs[format] !== undefined),
  compressor,
};
