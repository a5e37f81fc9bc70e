// encodeRequestStart writes in one buffer exactly what the separate record
// encoders write one after another.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { concatBytes } from "../src/io/bytes.ts";
import { encodeParams } from "../gateways/fastcgi/params.ts";
import { encodeBeginRequest, encodeStream, encodeStreamEnd, FCGI_KEEP_CONN, RecordType, Role } from "../gateways/fastcgi/record.ts";
import { encodeRequestStart } from "../gateways/fastcgi/request.ts";

function separately(id: number, flags: number, pairs: [string, string][], body: Uint8Array | null | "stream"): Uint8Array {
  const parts = [
    encodeBeginRequest(id, Role.RESPONDER, flags),
    encodeStream(RecordType.PARAMS, id, encodeParams(pairs)),
    encodeStreamEnd(RecordType.PARAMS, id),
  ];
  if (body !== "stream") parts.push(encodeStream(RecordType.STDIN, id, body ?? new Uint8Array(0)), encodeStreamEnd(RecordType.STDIN, id));
  return concatBytes(parts);
}

describe("encodeRequestStart", () => {
  test("golden: GET without body", () => {
    const bytes = encodeRequestStart(1, FCGI_KEEP_CONN, [["A", "b"]], null);
    expect([...bytes]).toEqual([
      1, 1, 0, 1, 0, 8, 0, 0, /* role */ 0, 1, /* flags */ 1, 0, 0, 0, 0, 0,
      1, 4, 0, 1, 0, 4, 4, 0, /* pair */ 1, 1, 65, 98, 0, 0, 0, 0,
      1, 4, 0, 1, 0, 0, 0, 0,
      1, 5, 0, 1, 0, 0, 0, 0,
    ]);
  });

  test("equals the records written one by one", () => {
    const pair = fc.tuple(fc.string({ maxLength: 200 }), fc.string({ maxLength: 70000 }));
    const body = fc.oneof(fc.constant(null), fc.constant("stream" as const), fc.uint8Array({ maxLength: 140000 }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), fc.array(pair, { maxLength: 6 }), body, (id, pairs, b) => {
        expect(encodeRequestStart(id, 0, pairs, b)).toEqual(separately(id, 0, pairs, b));
      }),
      { numRuns: 60 },
    );
  });

  test("a CGI environment object is encoded as its entries, in their order", () => {
    const pair = fc.tuple(fc.string({ maxLength: 40 }), fc.string({ maxLength: 300 }));
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 8 }), (pairs) => {
        const env: Record<string, string> = Object.create(null);
        for (const [name, value] of pairs) env[name] = value;
        expect(encodeRequestStart(3, FCGI_KEEP_CONN, env, null)).toEqual(separately(3, FCGI_KEEP_CONN, Object.entries(env), null));
      }),
      { numRuns: 60 },
    );
  });
});
