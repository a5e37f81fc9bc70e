// The proxy gateway's codecs over bytes: the request head written, the
// response head parsed (strict CRLF, no obs-fold, bounded), the chunked
// coding decoded, the body's framing per RFC 9112 §6.3, and WebSocket
// frames; golden bytes, and fast-check properties that re-chunk the input
// at random (a result must not depend on where reads split it).

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ChunkedDecoder } from "../gateways/proxy/chunked.ts";
import { responseFraming } from "../gateways/proxy/framing.ts";
import { encodeRequestHead } from "../gateways/proxy/request-head.ts";
import { ResponseHeadParser, type ResponseHead } from "../gateways/proxy/response-head.ts";
import { BINARY, CLOSE, closePayload, encodeFrame, FrameDecoder, parseClose, TEXT } from "../gateways/proxy/websocket-frames.ts";
import { GatewayError } from "../src/errors.ts";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const text = (data: Uint8Array) => String.fromCharCode(...data);

/** `data` cut at the offsets `at` (taken modulo its length). */
function split(data: Uint8Array, at: number[]): Uint8Array[] {
  const cuts = [...new Set(at.map((n) => (data.byteLength === 0 ? 0 : n % data.byteLength)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const cut of cuts) {
    parts.push(data.subarray(from, cut));
    from = cut;
  }
  parts.push(data.subarray(from));
  return parts;
}

function parseHead(data: Uint8Array | Uint8Array[], max = 1024): { head: ResponseHead; rest: string } {
  const parser = new ResponseHeadParser(max);
  const parts = Array.isArray(data) ? data : [data];
  for (const [i, part] of parts.entries()) {
    const head = parser.push(part);
    if (head) return { head, rest: text(parser.takeRest()) + parts.slice(i + 1).map(text).join("") };
  }
  throw new Error("no head");
}

function malformed(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe("BACKEND_MALFORMED");
    return (err as Error).message;
  }
  throw new Error("accepted");
}

describe("request head", () => {
  test("golden bytes", () => {
    const head = encodeRequestHead("POST", "/a/b?c=d", [["host", "example.org"], ["content-length", "3"], ["x-latin", "caf\u00e9"]]);
    expect([...head]).toEqual([...bytes("POST /a/b?c=d HTTP/1.1\r\nhost: example.org\r\ncontent-length: 3\r\nx-latin: caf\xe9\r\n\r\n")]);
  });

  test.each([
    ["a method that is no token", () => encodeRequestHead("GE T", "/", [])],
    ["a target with a space", () => encodeRequestHead("GET", "/a b", [])],
    ["a target not in origin-form", () => encodeRequestHead("GET", "http://x/", [])],
    ["a CR LF in a value (header injection)", () => encodeRequestHead("GET", "/", [["x", "a\r\nInjected: 1"]])],
  ])("refuses %s", (_name, run) => {
    expect(run).toThrow(GatewayError);
  });
});

describe("response head", () => {
  test("golden bytes: status, reason, repeated fields, OWS trimmed, the rest kept", () => {
    const { head, rest } = parseHead(bytes("HTTP/1.1 201 Created\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-A:  b c \t\r\n\r\nbody"));
    expect(head).toEqual({ minor: 1, status: 201, statusText: "Created", headers: [["Set-Cookie", "a=1"], ["set-cookie", "b=2"], ["X-A", "b c"]] });
    expect(rest).toBe("body");
  });

  test("HTTP/1.0 and an empty reason", () => {
    expect(parseHead(bytes("HTTP/1.0 404\r\n\r\n")).head).toMatchObject({ minor: 0, status: 404, statusText: "" });
  });

  test.each([
    ["bare LF ends a line", "HTTP/1.1 200 OK\nX: 1\r\n\r\n"],
    ["bare LF ends the head", "HTTP/1.1 200 OK\r\nX: 1\n\n"],
    ["obs-fold", "HTTP/1.1 200 OK\r\nX: 1\r\n  continued\r\n\r\n"],
    ["whitespace before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n"],
    ["a bare CR in a value", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"],
    ["a NUL in a value", "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"],
    ["a line without a colon", "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n"],
    ["HTTP/2 in a status line", "HTTP/2 200 OK\r\n\r\n"],
    ["a two-digit status", "HTTP/1.1 20 OK\r\n\r\n"],
    ["not HTTP at all", "Status: 200\r\n\r\n"],
  ])("refuses %s", (_name, head) => {
    malformed(() => parseHead(bytes(head)));
  });

  test("a head over the limit is refused, a head at it is read", () => {
    const head = `HTTP/1.1 200 OK\r\nX: ${"a".repeat(100)}\r\n\r\n`;
    expect(malformed(() => parseHead(bytes(head), head.length - 1))).toMatch(/over/);
    expect(parseHead(bytes(head), head.length).head.status).toBe(200);
    // Never complete: refused once past the limit, not held forever.
    expect(malformed(() => parseHead(bytes(`HTTP/1.1 200 OK\r\nX: ${"a".repeat(2000)}`), 1024))).toMatch(/over/);
  });

  test("property: the same head and rest wherever the bytes are split", () => {
    const field = fc.constantFrom("Content-Type: text/plain", "Set-Cookie: a=1", "X-A: b c", "Content-Length: 3", "Bad Field", "X: a\rb", "X:\tv", " folded");
    const answer = fc
      .tuple(fc.constantFrom("HTTP/1.1 200 OK", "HTTP/1.0 404 Not Found", "HTTP/1.1 99 No", "HTTP/1.1 204"), fc.array(field, { maxLength: 5 }), fc.constantFrom("\r\n", "\n"), fc.string({ maxLength: 20 }))
      .map(([line, fields, eol, body]) => [line, ...fields].join(eol) + eol + eol + body);
    fc.assert(
      fc.property(answer, fc.array(fc.nat(), { maxLength: 12 }), (answerText, at) => {
        const outcome = (parts: Uint8Array[]) => {
          try {
            return parseHead(parts, 512);
          } catch (err) {
            return (err as Error).message.startsWith("no head") ? "incomplete" : "malformed";
          }
        };
        const data = bytes(answerText);
        expect(outcome(split(data, at))).toEqual(outcome([data]));
      }),
    );
  });
});

describe("chunked coding", () => {
  function decode(parts: Uint8Array[], max = 4096): { body: string; done: boolean; rest: string } {
    const decoder = new ChunkedDecoder(max);
    let body = "";
    for (const part of parts) for (const data of decoder.push(part)) body += text(data);
    return { body, done: decoder.done, rest: text(decoder.rest) };
  }

  test("golden bytes: sizes in hex, an extension, trailers dropped, the rest after the end", () => {
    const coded = bytes("5\r\nhello\r\nA;name=value\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nNEXT");
    expect(decode([coded])).toEqual({ body: "hello0123456789", done: true, rest: "NEXT" });
  });

  test.each([
    ["a bare LF after a size", "5\nhello\r\n0\r\n\r\n"],
    ["data longer than its size", "5\r\nhello!\r\n0\r\n\r\n"],
    ["a size that is not hex", "x\r\nhello\r\n0\r\n\r\n"],
    ["a negative size", "-5\r\nhello\r\n0\r\n\r\n"],
    ["a size past 2^52", "FFFFFFFFFFFFFF\r\n"],
    ["a bare LF in the trailers", "0\r\nX: 1\n\r\n"],
    ["a space inside the size", "5 5\r\n"],
  ])("refuses %s", (_name, coded) => {
    // "a space inside the size" reads "5" and an extension " 5": accepted by the grammar (BWS), so only data errors follow.
    const run = () => decode([bytes(coded)]);
    if (coded === "5 5\r\n") expect(run().done).toBe(false);
    else malformed(run);
  });

  test("a size line over the bound is refused", () => {
    malformed(() => decode([bytes(`5;${"x".repeat(200)}\r\nhello\r\n0\r\n\r\n`)], 100));
  });

  test("many small chunks are no more than their size lines each (the bound is per line)", () => {
    const coded = bytes("1\r\na\r\n".repeat(10_000) + "0\r\n\r\n");
    expect(decode([coded], 64).body).toBe("a".repeat(10_000));
  });

  test("property: any body, chunked at random, split at random, decodes to itself", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 12 }), (body, sizes, at) => {
        let coded = "";
        let from = 0;
        for (const size of sizes) {
          if (from >= body.byteLength) break;
          const piece = body.subarray(from, from + size);
          coded += `${piece.byteLength.toString(16)}\r\n${text(piece)}\r\n`;
          from += piece.byteLength;
        }
        if (from < body.byteLength) coded += `${(body.byteLength - from).toString(16)}\r\n${text(body.subarray(from))}\r\n`;
        coded += "0\r\n\r\n";
        const result = decode(split(bytes(coded), at));
        expect(result).toEqual({ body: text(body), done: true, rest: "" });
      }),
    );
  });
});

describe("response framing (RFC 9112 §6.3)", () => {
  const head = (fields: [string, string][], status = 200, minor: 0 | 1 = 1): ResponseHead => ({ minor, status, statusText: "", headers: fields });

  test.each([
    ["Content-Length", [["Content-Length", "5"]], { body: { kind: "length", length: 5 }, reusable: true }],
    ["the same Content-Length twice", [["Content-Length", "5"], ["content-length", "5"]], { body: { kind: "length", length: 5 }, reusable: true }],
    ["chunked", [["Transfer-Encoding", "chunked"]], { body: { kind: "chunked" }, reusable: true }],
    ["neither: until the close", [], { body: { kind: "close" }, reusable: false }],
    ["Connection: close", [["Content-Length", "5"], ["Connection", "keep-alive, close"]], { body: { kind: "length", length: 5 }, reusable: false }],
  ] as const)("%s", (_name, fields, expected) => {
    expect(responseFraming(head(fields as unknown as [string, string][]), false)).toEqual(expected);
  });

  test("204, 304 and HEAD answers have no body whatever their fields say", () => {
    expect(responseFraming(head([["Content-Length", "5"]], 204), false).body).toEqual({ kind: "none" });
    expect(responseFraming(head([["Transfer-Encoding", "chunked"]], 304), false).body).toEqual({ kind: "none" });
    expect(responseFraming(head([["Content-Length", "5"]]), true).body).toEqual({ kind: "none" });
  });

  test.each([
    ["Transfer-Encoding with Content-Length (smuggling)", [["Transfer-Encoding", "chunked"], ["Content-Length", "5"]], 1],
    ["two different Content-Lengths", [["Content-Length", "5"], ["Content-Length", "6"]], 1],
    ["a Content-Length list that differs", [["Content-Length", "5, 6"]], 1],
    ["a coding other than chunked", [["Transfer-Encoding", "gzip, chunked"]], 1],
    ["chunked twice", [["Transfer-Encoding", "chunked"], ["Transfer-Encoding", "chunked"]], 1],
    ["Transfer-Encoding in HTTP/1.0", [["Transfer-Encoding", "chunked"]], 0],
    ["a signed Content-Length", [["Content-Length", "+5"]], 1],
  ] as const)("refuses %s", (_name, fields, minor) => {
    malformed(() => responseFraming(head(fields as unknown as [string, string][], 200, minor), false));
  });
});

describe("WebSocket frames", () => {
  const mask = Uint8Array.from([1, 2, 3, 4]);

  test("golden bytes: a masked text frame (RFC 6455 §5.7's example, masked)", () => {
    expect([...encodeFrame(TEXT, bytes("Hello"), Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]))]).toEqual([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
  });

  test("golden bytes: unmasked frames from a server, fragmented, with a close", () => {
    const decoder = new FrameDecoder(1024);
    const frames = Uint8Array.from([0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f, 0x88, 0x04, 0x03, 0xe8, 0x6f, 0x6b]);
    expect(decoder.push(frames)).toEqual([
      { opcode: TEXT, payload: bytes("Hello") },
      { opcode: CLOSE, payload: Uint8Array.from([0x03, 0xe8, 0x6f, 0x6b]) },
    ]);
    expect(parseClose(Uint8Array.from([0x03, 0xe8, 0x6f, 0x6b]))).toEqual({ code: 1000, reason: "ok" });
    expect([...closePayload(1000, "ok")]).toEqual([0x03, 0xe8, 0x6f, 0x6b]);
  });

  test.each([
    ["a masked frame from the server", [0x81, 0x81, 1, 2, 3, 4, 0]],
    ["RSV bits without an extension", [0xc1, 0x00]],
    ["a continuation with nothing to continue", [0x80, 0x00]],
    ["a fragmented control frame", [0x09, 0x00]],
    ["a frame over the limit", [0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0]],
  ])("refuses %s", (_name, frame) => {
    expect(() => new FrameDecoder(1024).push(Uint8Array.from(frame))).toThrow();
  });

  test("property: payloads of any size round-trip, split at random", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000 }), fc.array(fc.nat(), { maxLength: 8 }), (payload, at) => {
        // A server's frame: the client's encoding with the mask bit and key taken out.
        const masked = encodeFrame(BINARY, payload, Uint8Array.from([0, 0, 0, 0]));
        const lengthBytes = payload.byteLength < 126 ? 0 : payload.byteLength < 0x10000 ? 2 : 8;
        const frame = new Uint8Array(masked.byteLength - 4);
        frame.set(masked.subarray(0, 2 + lengthBytes));
        frame[1]! &= 0x7f;
        frame.set(masked.subarray(6 + lengthBytes), 2 + lengthBytes);
        const decoder = new FrameDecoder(1 << 20);
        const messages = split(frame, at).flatMap((part) => decoder.push(part));
        expect(messages).toEqual([{ opcode: BINARY, payload }]);
      }),
      { numRuns: 50 },
    );
  });

  test("a client frame unmasks to its payload", () => {
    const frame = encodeFrame(BINARY, bytes("abc"), mask);
    expect([...frame.subarray(0, 6)]).toEqual([0x82, 0x83, 1, 2, 3, 4]);
    expect([...frame.subarray(6)].map((b, i) => b ^ mask[i & 3]!)).toEqual([...bytes("abc")]);
  });
});
