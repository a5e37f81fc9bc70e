// The SCGI request head (gateways/scgi/netstring.ts) byte for byte, and
// round trips through a decoder written from the SCGI specification.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { encodeScgiHeaders } from "../gateways/scgi/netstring.ts";

const text = (bytes: Uint8Array) => String.fromCharCode(...bytes);
const utf8 = new TextDecoder();

/** The netstring's pairs, and what follows its ",", read as the SCGI specification describes them. */
function decodeHeaders(bytes: Uint8Array): { pairs: [string, string][]; rest: Uint8Array } {
  const colon = bytes.indexOf(0x3a);
  const digits = text(bytes.subarray(0, colon));
  expect(digits).toMatch(/^(0|[1-9][0-9]*)$/);
  const end = colon + 1 + Number(digits);
  expect(bytes[end]).toBe(0x2c);
  const fields = utf8.decode(bytes.subarray(colon + 1, end)).split("\0");
  // Every name and every value ends with a NUL: the split leaves one empty string after the last.
  expect(fields.pop()).toBe("");
  expect(fields.length % 2).toBe(0);
  const pairs: [string, string][] = [];
  for (let i = 0; i < fields.length; i += 2) pairs.push([fields[i]!, fields[i + 1]!]);
  return { pairs, rest: bytes.subarray(end + 1) };
}

describe("SCGI header (golden bytes)", () => {
  test("the specification's example, byte for byte", () => {
    // SCGI spec §"Example": 70:CONTENT_LENGTH<00>27<00>SCGI<00>1<00>REQUEST_METHOD<00>POST<00>REQUEST_URI<00>/deepthought<00>,
    const head = encodeScgiHeaders({ REQUEST_METHOD: "POST", CONTENT_LENGTH: "27", REQUEST_URI: "/deepthought" });
    expect(text(head)).toBe("70:CONTENT_LENGTH\x0027\x00SCGI\x001\x00REQUEST_METHOD\x00POST\x00REQUEST_URI\x00/deepthought\x00,");
  });

  test("CONTENT_LENGTH comes first and is 0 without a body; SCGI=1 second", () => {
    expect(text(encodeScgiHeaders({ A: "b" }))).toBe("28:CONTENT_LENGTH\x000\x00SCGI\x001\x00A\x00b\x00,");
  });

  test("empty values are sent", () => {
    expect(text(encodeScgiHeaders({ QUERY_STRING: "" }))).toBe("38:CONTENT_LENGTH\x000\x00SCGI\x001\x00QUERY_STRING\x00\x00,");
  });

  test("an SCGI of the caller's does not replace SCGI=1, nor appear twice", () => {
    expect(text(encodeScgiHeaders({ SCGI: "2", CONTENT_LENGTH: "0" }))).toBe("24:CONTENT_LENGTH\x000\x00SCGI\x001\x00,");
  });

  test("the length counts UTF-8 bytes", () => {
    expect(text(encodeScgiHeaders({ P: "é" }))).toBe("29:CONTENT_LENGTH\x000\x00SCGI\x001\x00P\x00\xc3\xa9\x00,");
  });

  test.each([
    ["a NUL in a value", { A: "a\0b" }],
    ["a NUL in a name", { "A\0B": "x" }],
    ["an empty name", { "": "x" }],
  ])("%s cannot be sent: refused", (_, vars) => {
    expect(() => encodeScgiHeaders(vars)).toThrow(/NUL|empty name/);
  });
});

describe("SCGI round trips (fast-check)", () => {
  const name = fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }).filter((s) => !s.includes("\0"));
  const value = fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => !s.includes("\0"));
  test("CONTENT_LENGTH then SCGI=1, then every other variable in order, nothing after the ','", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, value), { selector: ([k]) => k, maxLength: 30 }), (pairs) => {
        const vars = Object.fromEntries(pairs);
        const { pairs: decoded, rest } = decodeHeaders(encodeScgiHeaders(vars));
        const others = Object.entries(vars).filter(([k]) => k !== "CONTENT_LENGTH" && k !== "SCGI");
        expect(decoded).toEqual([["CONTENT_LENGTH", vars.CONTENT_LENGTH ?? "0"], ["SCGI", "1"], ...others]);
        expect(rest.byteLength).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
