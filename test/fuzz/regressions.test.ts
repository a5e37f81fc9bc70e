// Inputs the fuzzing found a decoder mishandling, each kept as a plain test.

import { describe, expect, test } from "vitest";
import { SpawnerFrameParser, type SpawnerFrame } from "../../gateways/cgi/spawner/protocol.ts";
import { NphResponseParser } from "../../gateways/script/nph.ts";
import { CgiResponseParser } from "../../src/cgi/response.ts";
import { isAuthority } from "../../src/http/authority.ts";
import { checkRequestHead } from "../../src/http/request-head.ts";

const bytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

function malformed(run: () => unknown): void {
  expect(run).toThrow(expect.objectContaining({ name: "GatewayError", code: "BACKEND_MALFORMED" }));
}

describe("CGI Status field", () => {
  // The reason phrase reached new Response(), which threw a TypeError (a 500, not a 502).
  test.each(["\x01", "a\x7fb", "\x0b"])("a control character in the reason phrase (%j) -> BACKEND_MALFORMED", (reason) => {
    malformed(() => new CgiResponseParser().push(bytes(`Status: 200 ${reason}\r\n\r\n`)));
  });

  test("HTAB and obs-text in the reason phrase are kept", () => {
    expect(new CgiResponseParser().push(bytes("Status: 200 a\tb\xe9\r\n\r\n"))?.statusText).toBe("a\tb\xe9");
  });
});

describe("NPH status line", () => {
  // String.fromCharCode(...bytes) over a whole chunk ran out of stack (RangeError) on a long first line.
  test("a 300,000-byte first line in one chunk -> BACKEND_MALFORMED", () => {
    const parser = new NphResponseParser({ maxHeaderBytes: 65536 });
    malformed(() => parser.push(bytes(`${"A".repeat(300_000)}\r\nStatus\r\n`)));
  });
});

describe("spawner frames", () => {
  // A plain Error before: the parser's one error type is GatewayError.
  test("an unknown frame type -> BACKEND_MALFORMED", () => {
    malformed(() => new SpawnerFrameParser().push(new Uint8Array(9), () => undefined));
  });

  // Held back before, waiting for up to 4 GiB: spawner.c never writes more than 65536 payload bytes a frame.
  test("an 'O' frame longer than the spawner writes -> BACKEND_MALFORMED at its head", () => {
    const head = Uint8Array.of(79, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff);
    malformed(() => new SpawnerFrameParser().push(head, () => undefined));
  });

  test("an 'O' frame of 65536 bytes is read", () => {
    const frame = new Uint8Array(9 + 65536);
    frame.set([79, 1, 0, 0, 0, 0, 0, 1, 0]);
    const frames: SpawnerFrame[] = [];
    new SpawnerFrameParser().push(frame, (f) => frames.push(f));
    expect(frames).toEqual([{ type: "O", id: 1, payload: new Uint8Array(65536) }]);
  });

  // The exit status was lost before when a bad frame followed it in the same chunk.
  test("the frames before a bad one are handed over, in one chunk as byte by byte", () => {
    const exit = Uint8Array.of(88, 7, 0, 0, 0, 3, 0, 0, 0);
    const frames: SpawnerFrame[] = [];
    malformed(() => new SpawnerFrameParser().push(Uint8Array.of(...exit, 0, ...new Uint8Array(8)), (f) => frames.push(f)));
    expect(frames).toEqual([{ type: "X", id: 7, n: 3 }]);
  });
});

describe("Host", () => {
  // A URL could not be built from these, and the request got a 500 after it was let through.
  test.each(["a.1", "999.1.1.1", "1.2.3.4.5", "1.2.3.08", "xn--", "a.xn--"])("%s, which the URL parser refuses -> 400", (host) => {
    expect(isAuthority(host)).toBe(false);
    expect(checkRequestHead({ method: "GET", target: "/", httpVersion: "1.1", rawHeaders: ["Host", host] })?.status).toBe(400);
  });

  // The URL parser would name another host than the one SERVER_NAME shows.
  test.each(["0x7f.1", "1.256", "0127.0.0.1", "1.2.3.4."])("%s, which a URL spells otherwise -> 400", (host) => {
    expect(isAuthority(host)).toBe(false);
  });

  test.each(["127.0.0.1", "127.0.0.1:8080", "example.com", "Example.COM:80", "a1", "1a.example", "xn--bcher-kva.example", "[::1]:80"])("%s is a Host", (host) => {
    expect(isAuthority(host)).toBe(true);
  });
});
