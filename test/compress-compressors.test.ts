// The runtimes' compressor (src/runtime.ts Compression) on its own: the
// node:zlib one Node, Bun and Deno share, checked with Debian's decoders.

import { describe, expect, test } from "vitest";
import { zlibCompression } from "../runtimes/common/zlib-compression.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { decode, decodeStart, text } from "./helpers/compress-site.ts";

const tools = ["zstd", "brotli", "gzip"].every((tool) => requireBinary([tool], tool) !== undefined);
const bytes = (s: string) => new TextEncoder().encode(s);

async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(readable).arrayBuffer());
}

describe.runIf(tools)("node:zlib", () => {
  test("zstd is offered exactly where node:zlib has it", () => {
    const major = Number(process.versions.node.split(".")[0]);
    expect(zlibCompression.formats).toEqual(major >= 22 ? ["zstd", "br", "gzip"] : ["br", "gzip"]);
  });

  test.each(zlibCompression.formats)("%s: chunks in, the real tool decodes them all", async (format) => {
    const input = text(500);
    const stream = zlibCompression.compressor(format, { level: 3, flush: true });
    const writer = stream.writable.getWriter();
    const output = readAll(stream.readable);
    for (let at = 0; at < input.length; at += 1000) await writer.write(bytes(input.slice(at, at + 1000)));
    await writer.close();
    expect(decode(format, await output)).toBe(input);
  });

  test.each(zlibCompression.formats)("%s with flush: what one chunk gives decodes before the next is written", async (format) => {
    const stream = zlibCompression.compressor(format, { level: 3, flush: true });
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    void writer.write(bytes("first chunk\n".repeat(20)));
    let got = new Uint8Array(0);
    while (!decodeStart(format, got).endsWith("first chunk\n".repeat(20))) {
      const { value } = await reader.read();
      got = new Uint8Array([...got, ...value!]);
    }
    await writer.abort();
  });
});
