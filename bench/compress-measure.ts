// Run by bench/cases/compress.ts in each runtime: compresses a file with the
// runtime's compressors as postern does (runtimes/common/zlib-compression.ts,
// a Web TransformStream fed chunk by chunk) at several levels, and prints, as
// one JSON line, the process's CPU time per MiB of input, the output size,
// and what flushing every chunk adds.

import { readFileSync } from "node:fs";
import { zlibCompression } from "../runtimes/common/zlib-compression.ts";
import type { Encoding } from "../src/runtime.ts";

const LEVELS: Record<Encoding, number[]> = { gzip: [1, 5, 6, 9], br: [1, 4, 5, 11], zstd: [1, 3, 6, 19] };
/** Chunks as a backend or a file read gives them. */
const CHUNK = 16 * 1024;

const data = new Uint8Array(readFileSync(process.argv[2]!));
const mib = data.length / 1024 ** 2;

async function compress(encoding: Encoding, level: number, flush: boolean): Promise<number> {
  const stream = zlibCompression.compressor(encoding, { level, flush });
  const writer = stream.writable.getWriter();
  const reading = (async () => {
    let size = 0;
    for await (const chunk of stream.readable as unknown as AsyncIterable<Uint8Array>) size += chunk.length;
    return size;
  })();
  for (let at = 0; at < data.length; at += CHUNK) await writer.write(data.subarray(at, at + CHUNK));
  await writer.close();
  return reading;
}

/** CPU ms (every thread: zlib runs on the thread pool) per MiB, median of `runs`, and the output size. */
async function measure(encoding: Encoding, level: number, flush: boolean): Promise<{ cpuMsPerMiB: number; size: number }> {
  const runs = level >= 11 ? 1 : 5;
  const times: number[] = [];
  let size = 0;
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    size = await compress(encoding, level, flush);
    const used = process.cpuUsage(before);
    times.push((used.user + used.system) / 1000 / mib);
  }
  times.sort((a, b) => a - b);
  return { cpuMsPerMiB: times[Math.floor(times.length / 2)]!, size };
}

const rows = [];
await compress("gzip", 1, true); // warm-up
for (const encoding of zlibCompression.formats) {
  for (const level of LEVELS[encoding]) {
    const flushed = await measure(encoding, level, true);
    const whole = level >= 11 ? undefined : await measure(encoding, level, false);
    rows.push({ encoding, level, ...flushed, unflushedSize: whole?.size, unflushedCpuMsPerMiB: whole?.cpuMsPerMiB });
  }
}
console.log(JSON.stringify({ bytes: data.length, chunk: CHUNK, rows }));
