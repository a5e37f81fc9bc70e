// Fuzz targets for the FastCGI codec (FastCGI spec §3.3, §3.4, §4.1, §5):
// the record reader fed any bytes in any chunking, name-value pairs and
// GET_VALUES_RESULT from any bytes, and encode -> decode round trips.

import fc from "fast-check";
import { FastCgiProtocolError } from "../../gateways/fastcgi/errors.ts";
import { decodeParams, encodeParams } from "../../gateways/fastcgi/params.ts";
import { RecordReader } from "../../gateways/fastcgi/reader.ts";
import {
  decodeBeginRequest,
  decodeEndRequest,
  encodeBeginRequest,
  encodeEndRequest,
  encodeStream,
  encodeStreamEnd,
  HEADER_LENGTH,
  MAX_CONTENT_LENGTH,
  RecordType,
  Role,
  writeHeader,
} from "../../gateways/fastcgi/record.ts";
import { encodeRequestStart } from "../../gateways/fastcgi/request.ts";
import { decodeGetValuesResult, encodeGetValues } from "../../gateways/fastcgi/values.ts";
import { concatBytes } from "../../src/io/bytes.ts";
import { check, chunked, cuts, expectSame, emitted, type FuzzFamily, outcome, piecesCutShort, sameInAnyChunks, sameBytes } from "./harness.ts";

const isProtocolError = (err: unknown): boolean => err instanceof FastCgiProtocolError;

interface Rec {
  type: number;
  requestId: number;
  content: Uint8Array;
}

/** A record as a backend might send it: any padding (§3.3 only recommends a multiple of 8). */
const record = fc.record({
  type: fc.oneof(fc.integer({ min: 1, max: 11 }), fc.integer({ min: 0, max: 255 })),
  requestId: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 0xffff })),
  content: fc.oneof({ weight: 8, arbitrary: fc.uint8Array({ maxLength: 64 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 3000 }) }),
  padding: fc.oneof(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 255 })),
});

function encodeWithPadding(r: Rec & { padding: number }): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + r.content.length + r.padding);
  writeHeader(out, 0, r.type, r.requestId, r.content.length, r.padding);
  out.set(r.content, HEADER_LENGTH);
  out.fill(0xa5, HEADER_LENGTH + r.content.length); // padding content is ignored (§3.3)
  return out;
}

/** Records, some with a wrong version byte, garbage between them, and maybe cut short. */
const stream = piecesCutShort(
  fc.oneof(
    { weight: 6, arbitrary: record.map(encodeWithPadding) },
    {
      weight: 1,
      arbitrary: fc.tuple(record, fc.integer({ min: 0, max: 255 })).map(([r, version]) => {
        const bytes = encodeWithPadding(r);
        bytes[0] = version;
        return bytes;
      }),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }) },
  ),
);

/** What a reader makes of the chunks: the records (contents copied), then the error that stopped it, if any. */
function read(chunks: Uint8Array[]): { events: Rec[]; error?: string } {
  const reader = new RecordReader();
  return emitted<Rec>((emit) => {
    for (const chunk of chunks) {
      reader.push(chunk, (r) => {
        check(r.content.length <= MAX_CONTENT_LENGTH, `record content of ${r.content.length} bytes`);
        emit({ type: r.type, requestId: r.requestId, content: r.content.slice() });
      });
    }
    reader.end();
  }, isProtocolError);
}

const readerBytes = () => sameInAnyChunks(stream, read);

const readerRoundTrip = () =>
  fc.property(fc.array(record, { maxLength: 6 }), cuts, (records, how) => {
    const got = read(chunked(concatBytes(records.map(encodeWithPadding)).slice(), how));
    expectSame("records read back", got, { events: records.map(({ type, requestId, content }) => ({ type, requestId, content })) });
  });

/** encodeStream and its end record, read back: the data, in order. */
const streamRoundTrip = () =>
  fc.property(
    fc.oneof({ weight: 4, arbitrary: fc.uint8Array({ maxLength: 200 }) }, { weight: 1, arbitrary: fc.integer({ min: 65530, max: 140_000 }).map((n) => new Uint8Array(n).fill(7)) }),
    fc.integer({ min: 0, max: 0xffff }),
    cuts,
    (data, requestId, how) => {
      const bytes = concatBytes([encodeStream(RecordType.STDOUT, requestId, data), encodeStreamEnd(RecordType.STDOUT, requestId)]).slice();
      const { events: records, error } = read(chunked(bytes, how));
      check(error === undefined, `error ${error}`);
      check(records.every((r) => r.type === RecordType.STDOUT && r.requestId === requestId), "type or requestId changed");
      check(records.at(-1)!.content.length === 0, "no end record");
      check(sameBytes(concatBytes(records.map((r) => r.content)), data), "stream data changed");
    },
  );

const beginEndRoundTrip = () =>
  fc.property(
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 0xffff_ffff }),
    fc.integer({ min: 0, max: 255 }),
    (requestId, role, flags, appStatus, protocolStatus) => {
      const begin = read([encodeBeginRequest(requestId, role, flags)]).events[0]!;
      expectSame("FCGI_BeginRequestBody", decodeBeginRequest(begin.content), { role, flags });
      const end = read([encodeEndRequest(requestId, appStatus, protocolStatus)]).events[0]!;
      expectSame("FCGI_EndRequestBody", decodeEndRequest(end.content), { appStatus, protocolStatus });
    },
  );

/** The fixed-size bodies from any content: their error or the 8 bytes' fields. */
const bodyBytes = () =>
  fc.property(fc.uint8Array({ maxLength: 12 }), (content) => {
    outcome(() => decodeBeginRequest(content), isProtocolError);
    outcome(() => decodeEndRequest(content), isProtocolError);
  });

/** A name or value length prefix in either form (§3.4), sometimes one beyond the bytes. */
const lengthPrefix = fc.oneof(
  fc.integer({ min: 0, max: 127 }).map((n) => Uint8Array.of(n)),
  fc.integer({ min: 0, max: 300 }).map((n) => Uint8Array.of(0x80 | (n >>> 24), (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)),
  fc.integer({ min: 0, max: 0xffff_ffff }).map((n) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)),
);
const pairBytes = fc
  .array(fc.oneof({ weight: 2, arbitrary: lengthPrefix }, { weight: 3, arbitrary: fc.uint8Array({ maxLength: 12 }) }), { maxLength: 10 })
  .map((parts) => concatBytes(parts).slice());

/** Pairs from any bytes: their error, or pairs that encode and decode back to themselves. */
const paramsBytes = () =>
  fc.property(pairBytes, (bytes) => {
    const pairs = outcome(() => decodeParams(bytes), isProtocolError);
    const values = outcome(() => decodeGetValuesResult(bytes), isProtocolError);
    expectSame("decodeParams and decodeGetValuesResult", "error" in pairs, "error" in values);
    if ("value" in pairs) expectSame("pairs re-encoded", decodeParams(encodeParams(pairs.value)), pairs.value);
  });

// Well-formed strings: UTF-8 cannot carry a lone surrogate, so only these round-trip.
const text = fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 40, unit: "binary" }) }, { weight: 1, arbitrary: fc.string({ minLength: 100, maxLength: 400, unit: "binary" }) });

const paramsRoundTrip = () =>
  fc.property(fc.array(fc.tuple(text, text), { maxLength: 12 }), (pairs) => {
    expectSame("pairs", decodeParams(encodeParams(pairs)), pairs);
    const names = pairs.map(([name]) => name);
    const values = read([encodeGetValues(names)]).events;
    check(values.length === 1 && values[0]!.type === RecordType.GET_VALUES && values[0]!.requestId === 0, "not one GET_VALUES record");
    expectSame("GET_VALUES names", [...decodeGetValuesResult(values[0]!.content)], names.map((n) => [n, ""]).filter(([n], i) => names.indexOf(n) === i));
  });

/** A Responder request's opening, read back: role and flags, the params, and the body (§5.1–§5.3, §6.2). */
const requestStartRoundTrip = () =>
  fc.property(
    fc.integer({ min: 1, max: 0xffff }),
    fc.constantFrom(0, 1),
    fc.array(fc.tuple(text, text), { maxLength: 8 }),
    fc.oneof(fc.constant(null), fc.constant("stream" as const), fc.uint8Array({ maxLength: 300 })),
    cuts,
    (requestId, flags, params, body, how) => {
      const { events: records, error } = read(chunked(encodeRequestStart(requestId, flags, params, body).slice(), how));
      check(error === undefined, `error ${error}`);
      check(records.every((r) => r.requestId === requestId), "requestId changed");
      expectSame("begin", decodeBeginRequest(records[0]!.content), { role: Role.RESPONDER, flags });
      const of = (type: number) => records.filter((r) => r.type === type);
      expectSame("params", decodeParams(concatBytes(of(RecordType.PARAMS).map((r) => r.content))), params);
      const stdin = of(RecordType.STDIN);
      if (body === "stream") check(stdin.length === 0, "STDIN records for a streamed body");
      else check(sameBytes(concatBytes(stdin.map((r) => r.content)), body ?? new Uint8Array(0)) && stdin.at(-1)!.content.length === 0, "body changed");
    },
  );

export const fastcgi: FuzzFamily = {
  family: "fastcgi",
  targets: [
    { name: "RecordReader, any bytes, re-chunked", share: 0.35, property: readerBytes },
    { name: "RecordReader, records round trip", share: 0.1, property: readerRoundTrip },
    { name: "encodeStream round trip", share: 0.05, property: streamRoundTrip },
    { name: "BEGIN_REQUEST/END_REQUEST round trip", share: 0.05, property: beginEndRoundTrip },
    { name: "BEGIN_REQUEST/END_REQUEST bodies, any bytes", share: 0.05, property: bodyBytes },
    { name: "decodeParams/decodeGetValuesResult, any bytes", share: 0.2, property: paramsBytes },
    { name: "params and GET_VALUES round trip", share: 0.1, property: paramsRoundTrip },
    { name: "encodeRequestStart round trip", share: 0.1, property: requestStartRoundTrip },
  ],
};
