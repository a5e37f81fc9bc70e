// The memory an answer being compressed holds: the compressor's window, which
// the stream's header names (RFC 7932 §9.2 WBITS, RFC 8878 §3.1.1.1.2 the
// Window_Descriptor) and the client's decoder must allocate as well. At
// brotli's default of 4 MiB a thousand slow downloads hold gigabytes; the
// window is 512 KiB (nginx's brotli_window default), whatever the level.

import { brotliDecompressSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { zlibCompression } from "../runtimes/common/zlib-compression.ts";
import type { Encoding } from "../src/runtime.ts";
import { LEVELS } from "../gateways/route/compress/index.ts";

const MAX_WINDOW = 512 * 1024;

/** Compresses 1 MiB of text the way an answer streams (64 KiB chunks, a flush after each). */
async function compress(encoding: Encoding): Promise<Uint8Array> {
  const compressor = zlibCompression.compressor(encoding, { level: LEVELS[encoding], flush: true });
  const writer = compressor.writable.getWriter();
  const chunks: Uint8Array[] = [];
  const read = (async () => {
    for await (const chunk of compressor.readable as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
  })();
  for (let i = 0; i < 16; i++) await writer.write(new TextEncoder().encode(`line ${i} `.repeat(10000).slice(0, 65536)));
  await writer.close();
  await read;
  return Buffer.concat(chunks);
}

/** RFC 7932 §9.2: the window size a brotli stream's first bits name. */
function brotliWindow(first: number): number {
  if ((first & 1) === 0) return 2 ** 16;
  const n = (first >> 1) & 7;
  if (n !== 0) return 2 ** (17 + n) - 16;
  const m = (first >> 4) & 7;
  return m === 0 ? 2 ** 17 - 16 : 2 ** (8 + m) - 16;
}

/** RFC 8878 §3.1.1.1.2: the window size a zstd frame's header names (the frame content size when it is one segment). */
function zstdWindow(frame: Uint8Array): number {
  const descriptor = frame[4]!;
  if (descriptor & 0x20) return Infinity;
  const window = frame[5]!;
  const log = 10 + (window >> 3);
  return 2 ** log + (2 ** log / 8) * (window & 7);
}

describe("compression window", () => {
  test("brotli answers name a window of at most 512 KiB, and decode", async () => {
    const bytes = await compress("br");
    expect(brotliWindow(bytes[0]!)).toBeLessThanOrEqual(MAX_WINDOW);
    expect(brotliDecompressSync(bytes).byteLength).toBe(16 * 65536);
  });

  test.skipIf(!zlibCompression.formats.includes("zstd"))("zstd answers name a window of at most 512 KiB", async () => {
    expect(zstdWindow(await compress("zstd"))).toBeLessThanOrEqual(MAX_WINDOW);
  });
});
