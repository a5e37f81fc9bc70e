// The FastCGI wire codec (FastCGI spec §3.3, §3.4, §4, §5): golden bytes, re-chunking properties, error paths.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { FastCgiProtocolError } from "../gateways/fastcgi/errors.ts";
import { decodeParams, encodeParams, writeParamLength } from "../gateways/fastcgi/params.ts";
import { type FcgiRecord, RecordReader } from "../gateways/fastcgi/reader.ts";
import {
  decodeBeginRequest,
  decodeEndRequest,
  encodeAbortRequest,
  encodeBeginRequest,
  encodeEndRequest,
  encodeRecord,
  encodeStream,
  encodeStreamEnd,
  encodeUnknownType,
  FCGI_KEEP_CONN,
  HEADER_LENGTH,
  MAX_CONTENT_LENGTH,
  ProtocolStatus,
  RecordType,
  Role,
  writeHeader,
} from "../gateways/fastcgi/record.ts";
import { decodeGetValuesResult, encodeGetValues, FCGI_MAX_CONNS, FCGI_MPXS_CONNS } from "../gateways/fastcgi/values.ts";
import { concatBytes } from "../src/io/bytes.ts";

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
const ascii = (s: string): string => hex(new TextEncoder().encode(s));


// toEqual walks a large Uint8Array element by element, slowly; this compares it in one pass.
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Splits bytes at the given cut points (any order, any repeats, clamped to the length). */
function rechunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(bytes.length, c))))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.slice(from, p)); // a copy, as a socket would hand over
    from = p;
  }
  return chunks;
}

/** Feeds chunks to a fresh reader and returns copies of the records it emits. */
function readAll(chunks: Uint8Array[]): FcgiRecord[] {
  const reader = new RecordReader();
  const records: FcgiRecord[] = [];
  for (const chunk of chunks) {
    reader.push(chunk, (r) => records.push({ ...r, content: r.content.slice() }));
  }
  expect(reader.pending).toBe(false);
  reader.end();
  return records;
}

describe("golden bytes", () => {
  // Go's fcgi_test.go has the same kind of table (FastCGI spec §3.4).
  test.each([
    [0, "00"],
    [1, "01"],
    [127, "7f"],
    [128, "80 00 00 80"],
    [1000, "80 00 03 e8"],
    [33554431, "81 ff ff ff"],
  ])("name-value length %i", (n, expected) => {
    const buf = new Uint8Array(4);
    const end = writeParamLength(buf, 0, n);
    expect(hex(buf.subarray(0, end))).toBe(expected);
  });

  test.each([0, 1, 127, 128, 1000])("encodeParams prefixes a %i-byte value", (n) => {
    const encoded = encodeParams([["A", "v".repeat(n)]]);
    const prefix = new Uint8Array(4);
    const end = writeParamLength(prefix, 0, n);
    expect(hex(encoded.subarray(0, 1 + end))).toBe(hex(new Uint8Array([1, ...prefix.subarray(0, end)])));
    expect(encoded.length).toBe(1 + end + 1 + n);
  });

  test("params of two pairs", () => {
    const encoded = encodeParams([
      ["SCRIPT_NAME", "/a.php"],
      ["QUERY_STRING", ""],
    ]);
    expect(hex(encoded)).toBe(`0b 06 ${ascii("SCRIPT_NAME")} ${ascii("/a.php")} 0c 00 ${ascii("QUERY_STRING")}`);
  });

  test("params in UTF-8, with a length whose UTF-16 count is under 128 but bytes are not", () => {
    const encoded = encodeParams([
      ["X", "é"],
      ["Y", "é".repeat(100)],
    ]);
    expect(hex(encoded)).toBe(`01 02 58 c3 a9 01 80 00 00 c8 59 ${Array(100).fill("c3 a9").join(" ")}`);
  });

  test("BEGIN_REQUEST", () => {
    expect(hex(encodeBeginRequest(1, Role.RESPONDER, FCGI_KEEP_CONN))).toBe("01 01 00 01 00 08 00 00 00 01 01 00 00 00 00 00");
    expect(hex(encodeBeginRequest(0x0102, Role.FILTER, 0))).toBe("01 01 01 02 00 08 00 00 00 03 00 00 00 00 00 00");
  });

  test("END_REQUEST", () => {
    expect(hex(encodeEndRequest(1, 0, ProtocolStatus.REQUEST_COMPLETE))).toBe("01 03 00 01 00 08 00 00 00 00 00 00 00 00 00 00");
    expect(hex(encodeEndRequest(0x0102, 0x01020304, ProtocolStatus.UNKNOWN_ROLE))).toBe("01 03 01 02 00 08 00 00 01 02 03 04 03 00 00 00");
  });

  test("ABORT_REQUEST", () => {
    expect(hex(encodeAbortRequest(0xfffe))).toBe("01 02 ff fe 00 00 00 00");
  });

  test("UNKNOWN_TYPE", () => {
    expect(hex(encodeUnknownType(99))).toBe("01 0b 00 00 00 08 00 00 63 00 00 00 00 00 00 00");
  });

  test("GET_VALUES", () => {
    // 16 bytes of content: no padding needed.
    expect(hex(encodeGetValues([FCGI_MAX_CONNS]))).toBe(`01 09 00 00 00 10 00 00 0e 00 ${ascii("FCGI_MAX_CONNS")}`);
  });

  test("a record's content is padded to a multiple of 8", () => {
    expect(hex(encodeRecord(RecordType.STDOUT, 3, new Uint8Array([0xaa, 0xbb, 0xcc])))).toBe("01 06 00 03 00 03 05 00 aa bb cc 00 00 00 00 00");
  });

  test("66,000 bytes of STDIN", () => {
    const data = new Uint8Array(66_000).map((_, i) => i * 7);
    const stream = encodeStream(RecordType.STDIN, 1, data);
    expect(stream.length).toBe(8 + 65535 + 1 + 8 + 465 + 7);
    expect(hex(stream.subarray(0, 8))).toBe("01 05 00 01 ff ff 01 00"); // 65535 content, 1 padding
    expect(hex(stream.subarray(8 + 65535, 8 + 65536))).toBe("00");
    const second = 8 + 65536;
    expect(hex(stream.subarray(second, second + 8))).toBe("01 05 00 01 01 d1 07 00"); // 465 content, 7 padding
    expect(hex(stream.subarray(second + 8 + 465))).toBe("00 00 00 00 00 00 00");
    expect(sameBytes(stream.subarray(8, 8 + 65535), data.subarray(0, 65535))).toBe(true);
    expect(sameBytes(stream.subarray(second + 8, second + 8 + 465), data.subarray(65535))).toBe(true);
    expect(hex(encodeStreamEnd(RecordType.STDIN, 1))).toBe("01 05 00 01 00 00 00 00");
  });

  test("empty stream data gives no records", () => {
    expect(encodeStream(RecordType.STDIN, 1, new Uint8Array(0)).length).toBe(0);
  });
});

describe("decoding", () => {
  test("BEGIN_REQUEST and END_REQUEST bodies", () => {
    expect(decodeBeginRequest(encodeBeginRequest(7, Role.AUTHORIZER, FCGI_KEEP_CONN).subarray(8))).toEqual({
      role: Role.AUTHORIZER,
      flags: FCGI_KEEP_CONN,
    });
    expect(decodeEndRequest(encodeEndRequest(7, 0xfffffffe, ProtocolStatus.OVERLOADED).subarray(8))).toEqual({
      appStatus: 0xfffffffe,
      protocolStatus: ProtocolStatus.OVERLOADED,
    });
  });

  test("GET_VALUES_RESULT", () => {
    const content = encodeParams([
      [FCGI_MAX_CONNS, "10"],
      [FCGI_MPXS_CONNS, "0"],
    ]);
    expect(decodeGetValuesResult(content)).toEqual(new Map([[FCGI_MAX_CONNS, "10"], [FCGI_MPXS_CONNS, "0"]]));
  });

  test("a four-byte length below 128 is accepted", () => {
    expect(decodeParams(new Uint8Array([0x80, 0, 0, 1, 0x01, 0x41, 0x42]))).toEqual([["A", "B"]]);
  });

  test("content within one chunk is a view of it, not a copy", () => {
    const chunk = encodeRecord(RecordType.STDOUT, 1, new Uint8Array([1, 2, 3]));
    let seen: Uint8Array | undefined;
    new RecordReader().push(chunk, (r) => (seen = r.content));
    expect(seen?.buffer).toBe(chunk.buffer);
    expect(seen?.byteOffset).toBe(HEADER_LENGTH);
  });
});

describe("properties", () => {
  const anyString = fc.oneof(
    fc.string({ unit: "binary", maxLength: 20 }),
    fc.string({ unit: "binary", minLength: 40, maxLength: 300 }), // often over 127 bytes
    fc.string({ unit: "grapheme-ascii", minLength: 120, maxLength: 140 }),
  );

  test("encodeParams then decodeParams gives the pairs back", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(anyString, anyString), { maxLength: 30 }), (pairs) => {
        expect(decodeParams(encodeParams(pairs))).toEqual(pairs);
      }),
    );
  });

  // Data up to ~200 KB (several full records), filled from a seed rather than generated byte by byte.
  const streamData = fc
    .tuple(fc.oneof(fc.nat(300), fc.nat(200_000), fc.constant(MAX_CONTENT_LENGTH), fc.constant(2 * MAX_CONTENT_LENGTH + 1)), fc.nat())
    .map(([length, seed]) => {
      const data = new Uint8Array(length);
      let x = seed | 1;
      for (let i = 0; i < length; i++) data[i] = x = (x * 1103515245 + 12345) >>> 16;
      return data;
    });

  // Cut points: anywhere, and near record starts so headers and padding get split too.
  const cutsNearRecords = (length: number, recordSize: number) =>
    fc.array(
      fc.oneof(
        fc.nat(length),
        fc.tuple(fc.nat(Math.ceil(length / recordSize)), fc.integer({ min: -8, max: 16 })).map(([k, d]) => k * recordSize + d),
      ),
      { maxLength: 40 },
    );

  test("encodeStream and its end, re-chunked anywhere, read back as the same records", () => {
    const cases = streamData.chain((data) => {
      const bytes = concatBytes([encodeStream(RecordType.STDIN, 513, data), encodeStreamEnd(RecordType.STDIN, 513)]);
      return fc.tuple(fc.constant(data), fc.constant(bytes), cutsNearRecords(bytes.length, HEADER_LENGTH + MAX_CONTENT_LENGTH + 1));
    });
    fc.assert(
      fc.property(cases, ([data, bytes, cuts]) => {
        const records = readAll(rechunk(bytes, cuts));
        const expected: number[] = [];
        for (let rest = data.length; rest > 0; rest -= MAX_CONTENT_LENGTH) expected.push(Math.min(rest, MAX_CONTENT_LENGTH));
        expected.push(0);
        expect(records.map((r) => r.content.length)).toEqual(expected);
        expect(records.every((r) => r.type === RecordType.STDIN && r.requestId === 513)).toBe(true);
        expect(sameBytes(concatBytes(records.map((r) => r.content)), data)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  test("mixed records with any padding, re-chunked anywhere, decode identically", () => {
    const record = fc.record({
      type: fc.integer({ min: 1, max: 11 }),
      requestId: fc.integer({ min: 0, max: 0xffff }),
      content: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 200, maxLength: 700 })),
      padding: fc.oneof(fc.constant(-1), fc.nat(255)), // -1: the encoder's own padding
    });
    const cases = fc.array(record, { maxLength: 20 }).chain((records) => {
      const bytes = concatBytes(
        records.map(({ type, requestId, content, padding }) => {
          if (padding < 0) return encodeRecord(type, requestId, content);
          const out = new Uint8Array(HEADER_LENGTH + content.length + padding).fill(0xee);
          writeHeader(out, 0, type, requestId, content.length, padding);
          out.set(content, HEADER_LENGTH);
          return out;
        }),
      );
      return fc.tuple(fc.constant(records), fc.constant(bytes), cutsNearRecords(bytes.length, 24));
    });
    fc.assert(
      fc.property(cases, ([records, bytes, cuts]) => {
        const expected = records.map(({ type, requestId, content }) => ({ type, requestId, content }));
        expect(readAll(rechunk(bytes, cuts))).toEqual(expected);
        expect(readAll(rechunk(bytes, Array.from(bytes, (_, i) => i)))).toEqual(expected); // one byte at a time
      }),
    );
  });
});

describe("errors", () => {
  const noop = () => {};

  test("bad version throws", () => {
    expect(() => new RecordReader().push(new Uint8Array([2, 6, 0, 1, 0, 0, 0, 0]), noop)).toThrow(FastCgiProtocolError);
  });

  test("truncated header at end() throws", () => {
    const reader = new RecordReader();
    reader.push(new Uint8Array([1, 6, 0, 1, 0]), noop);
    expect(reader.pending).toBe(true);
    expect(() => reader.end()).toThrow(FastCgiProtocolError);
  });

  test("truncated content at end() throws", () => {
    const reader = new RecordReader();
    reader.push(encodeRecord(RecordType.STDOUT, 1, new Uint8Array(10)).subarray(0, 12), noop);
    expect(() => reader.end()).toThrow(FastCgiProtocolError);
  });

  test("truncated padding at end() throws", () => {
    const reader = new RecordReader();
    reader.push(encodeRecord(RecordType.STDOUT, 1, new Uint8Array(10)).subarray(0, 20), noop);
    expect(() => reader.end()).toThrow(FastCgiProtocolError);
  });

  test("truncated params throw", () => {
    expect(() => decodeParams(new Uint8Array([5, 0, 0x41]))).toThrow(FastCgiProtocolError);
    expect(() => decodeParams(new Uint8Array([1]))).toThrow(FastCgiProtocolError);
    expect(() => decodeParams(new Uint8Array([1, 0x80, 0]))).toThrow(FastCgiProtocolError);
  });

  test("oversized single record content throws", () => {
    expect(() => encodeRecord(RecordType.STDIN, 1, new Uint8Array(MAX_CONTENT_LENGTH + 1))).toThrow(RangeError);
  });

  test("request id over 65535 throws", () => {
    expect(() => encodeAbortRequest(0x10000)).toThrow(RangeError);
  });

  test("name-value length over 2^31-1 throws", () => {
    expect(() => writeParamLength(new Uint8Array(4), 0, 2 ** 31)).toThrow(RangeError);
  });

  test("BEGIN_REQUEST body of the wrong length throws", () => {
    expect(() => decodeBeginRequest(new Uint8Array(7))).toThrow(FastCgiProtocolError);
  });

  test("END_REQUEST body of the wrong length throws", () => {
    expect(() => decodeEndRequest(new Uint8Array(9))).toThrow(FastCgiProtocolError);
  });
});
