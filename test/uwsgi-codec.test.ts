// The uwsgi request packet (gateways/uwsgi/packet.ts) byte for byte, its
// limit, and round trips through a decoder written from the protocol's
// description; and the answer head an app server sends (src/cgi/response.ts
// StatusLineParser, optional status line), cut anywhere.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { encodeUwsgiPacket, MAX_VARS_SIZE } from "../gateways/uwsgi/packet.ts";
import { StatusLineParser, type CgiHead } from "../src/cgi/response.ts";
import { GatewayError } from "../src/errors.ts";

const latin1 = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const utf8 = new TextDecoder();

/** The packet's header and its variables, read back as the uwsgi protocol describes them. */
function decodePacket(packet: Uint8Array): { modifier1: number; modifier2: number; vars: [string, string][]; rest: Uint8Array } {
  const size = packet[1]! | (packet[2]! << 8);
  const vars: [string, string][] = [];
  const u16 = (at: number) => packet[at]! | (packet[at + 1]! << 8);
  let at = 4;
  while (at < 4 + size) {
    const keyLength = u16(at);
    const key = utf8.decode(packet.subarray(at + 2, at + 2 + keyLength));
    at += 2 + keyLength;
    const valueLength = u16(at);
    vars.push([key, utf8.decode(packet.subarray(at + 2, at + 2 + valueLength))]);
    at += 2 + valueLength;
  }
  expect(at).toBe(4 + size);
  return { modifier1: packet[0]!, modifier2: packet[3]!, vars, rest: packet.subarray(at) };
}

describe("uwsgi packet (golden bytes)", () => {
  test("header: modifier1, the vars size in u16 little-endian, modifier2; each name and value u16-LE length-prefixed", () => {
    expect([...encodeUwsgiPacket({ A: "bc", EMPTY: "" })]).toEqual([
      0, 16, 0, 0, // modifier1 0, size 16 (0x0010 LE), modifier2 0
      1, 0, 65, 2, 0, 98, 99, // "A" = "bc"
      5, 0, 69, 77, 80, 84, 89, 0, 0, // "EMPTY" = ""
    ]);
  });

  test("the modifiers go where they belong", () => {
    const packet = encodeUwsgiPacket({}, 5, 9);
    expect([...packet]).toEqual([5, 0, 0, 9]);
  });

  test("a size over 255 takes both bytes, low byte first", () => {
    const packet = encodeUwsgiPacket({ K: "v".repeat(300) });
    // 2 + 1 + 2 + 300 = 305 = 0x0131
    expect([...packet.subarray(0, 4)]).toEqual([0, 0x31, 0x01, 0]);
    expect([...packet.subarray(7, 9)]).toEqual([0x2c, 0x01]);
  });

  test("names and values go as UTF-8", () => {
    expect([...encodeUwsgiPacket({ P: "é" })]).toEqual([0, 7, 0, 0, 1, 0, 80, 2, 0, 0xc3, 0xa9]);
  });
});

describe("uwsgi vars block limit", () => {
  // One variable of 2 + 1 + 2 + n bytes.
  const withValue = (n: number) => ({ K: "x".repeat(n) });

  test("exactly 65535 bytes of vars is sent, its size 0xffff", () => {
    const packet = encodeUwsgiPacket(withValue(MAX_VARS_SIZE - 5));
    expect([...packet.subarray(0, 4)]).toEqual([0, 0xff, 0xff, 0]);
    expect(packet.byteLength).toBe(4 + MAX_VARS_SIZE);
  });

  test("65536 bytes of vars -> 431, never a wrapped length", () => {
    let error: unknown;
    try {
      encodeUwsgiPacket(withValue(MAX_VARS_SIZE - 4));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(431);
  });

  test("many small variables over the limit -> 431 too", () => {
    const vars = Object.fromEntries(Array.from({ length: 7000 }, (_, i) => [`HTTP_X_${i}`, "v"]));
    expect(() => encodeUwsgiPacket(vars)).toThrow(/vars block of \d+ bytes/);
  });
});

describe("uwsgi packet round trips (fast-check)", () => {
  const text = fc.string({ unit: "grapheme", maxLength: 40 });
  test("any names and values come back in order, the size field says the block's length", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(text, text), { selector: ([k]) => k, maxLength: 30 }), fc.nat(255), fc.nat(255), (pairs, m1, m2) => {
        const vars = Object.fromEntries(pairs);
        const decoded = decodePacket(encodeUwsgiPacket(vars, m1, m2));
        expect(decoded).toMatchObject({ modifier1: m1, modifier2: m2, vars: Object.entries(vars) });
        expect(decoded.rest.byteLength).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

/** Pushes `chunks` into a fresh optional-status-line parser: the head and the body bytes after it, or the error. */
function parse(chunks: Uint8Array[], maxHeaderBytes = 4096): { head: CgiHead; body: string } | { error: string } {
  const parser = new StatusLineParser({ maxHeaderBytes, statusLine: "optional" });
  try {
    for (let i = 0; i < chunks.length; i++) {
      const head = parser.push(chunks[i]!);
      if (head) {
        const body = [parser.takeRest(), ...chunks.slice(i + 1)].map((c) => String.fromCharCode(...c)).join("");
        return { head, body };
      }
    }
    parser.finish();
    throw new Error("finish() passed without a head");
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(502);
    return { error: (err as GatewayError).code };
  }
}

const one = (text: string) => parse([latin1(text)]);

describe("an app server's answer head: HTTP status line or CGI", () => {
  test("uWSGI's status line: its status and reason; fields in order, Set-Cookie kept apart", () => {
    const answer = one("HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nbody");
    expect(answer).toEqual({
      head: { status: 201, statusText: "Created", kind: "document", headers: [["Content-Type", "text/plain"], ["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]] },
      body: "body",
    });
  });

  test("a CGI head: Status decides", () => {
    const answer = one("Status: 404 Not Here\r\nContent-Type: text/plain\r\n\r\nno");
    expect(answer).toMatchObject({ head: { status: 404, statusText: "Not Here" }, body: "no" });
  });

  test("a CGI head without Status: 200", () => {
    expect(one("Content-Type: text/plain\n\nok")).toMatchObject({ head: { status: 200 }, body: "ok" });
  });

  test("after a status line, a Location stays a field: the status line stands", () => {
    expect(one("HTTP/1.1 200 OK\r\nLocation: /x\r\n\r\n")).toMatchObject({ head: { status: 200, kind: "document" } });
  });

  test.each([
    ["bad status line", "HTTP/1.1 20 OK\r\n\r\n"],
    ["HTTP/2 is no status line of this protocol", "HTTP/2 200 OK\r\n\r\n"],
    ["Transfer-Encoding after a status line", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["CR inside a value", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"],
    ["NUL inside a value", "Status: 200\r\nX: a\0b\r\n\r\n"],
    ["a line without a colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n"],
    ["no blank line before the end", "HTTP/1.1 200 OK\r\nX: 1\r\n"],
    ["nothing at all", ""],
    ["only part of a status line", "HTTP/1."],
  ])("%s -> 502", (_, text) => {
    expect(one(text)).toEqual({ error: "BACKEND_MALFORMED" });
  });

  test("a head over max_response_header_size -> 502", () => {
    expect(parse([latin1(`HTTP/1.1 200 OK\r\nX: ${"a".repeat(5000)}\r\n\r\n`)], 4096)).toEqual({ error: "BACKEND_MALFORMED" });
    expect(parse([latin1(`X: ${"a".repeat(5000)}\r\n\r\n`)], 4096)).toEqual({ error: "BACKEND_MALFORMED" });
  });

  test("split inside \"HTTP/\" and inside a CGI field that starts like it", () => {
    expect(parse([latin1("HT"), latin1("TP/1.0 2"), latin1("04 Empty\r\n\r\n")])).toMatchObject({ head: { status: 204, statusText: "Empty" } });
    expect(parse([latin1("H"), latin1("T"), latin1("X: 1\r\n\r\nb")])).toEqual({ head: { status: 200, statusText: "OK", kind: "document", headers: [["HTX", "1"]] }, body: "b" });
  });
});

describe("answer heads re-chunked (fast-check)", () => {
  const field = fc.constantFrom("Content-Type: text/plain", "Set-Cookie: a=1", "X-A: b c", "Location: /x", "Status: 201 Made", "Content-Length: 3", "Bad Field", "X: a\rb", "");
  const first = fc.constantFrom("HTTP/1.1 200 OK", "HTTP/1.0 404 Not Found", "HTTP/1.1 302 Found", "HTTP/1.1 99 No", "HT", "Status: 500 Oops", "Content-Type: text/html");
  const ending = fc.constantFrom("\r\n", "\n");
  const answer = fc.tuple(first, fc.array(field, { maxLength: 5 }), ending, fc.string({ maxLength: 20 })).map(([line, fields, eol, body]) => [line, ...fields].join(eol) + eol + eol + body);
  /** `bytes` cut at the given offsets. */
  const cut = (bytes: Uint8Array, at: number[]) => {
    const points = [...new Set(at.map((n) => n % (bytes.byteLength + 1)))].sort((a, b) => a - b);
    const chunks: Uint8Array[] = [];
    let from = 0;
    for (const point of points) {
      chunks.push(bytes.subarray(from, point));
      from = point;
    }
    chunks.push(bytes.subarray(from));
    return chunks;
  };

  test("one chunk or many, a byte at a time included: the same head, body or error", () => {
    fc.assert(
      fc.property(answer, fc.array(fc.nat(), { maxLength: 12 }), fc.integer({ min: 16, max: 200 }), (text, at, max) => {
        const bytes = latin1(text);
        const whole = parse([bytes], max);
        expect(parse(cut(bytes, at), max)).toEqual(whole);
        expect(parse([...bytes].map((b) => Uint8Array.of(b)), max)).toEqual(whole);
      }),
      { numRuns: 500 },
    );
  });
});
