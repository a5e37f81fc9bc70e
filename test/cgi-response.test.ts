// The CGI response head parser (src/cgi/response.ts, RFC 3875 §6): one-line
// tests named after what they guard, and a property test that re-chunks valid
// responses at arbitrary points.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { headToHeaders } from "../src/cgi/answer.ts";
import { type CgiHead, CgiResponseParser } from "../src/cgi/response.ts";
import { GatewayError } from "../src/errors.ts";

/** One char per byte, as the parser reads header bytes. */
function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Feeds the chunks as a gateway would: after the head, chunks are body. */
function run(chunks: Uint8Array[], options?: { maxHeaderBytes?: number }): { head: CgiHead; body: Uint8Array } {
  const parser = new CgiResponseParser(options);
  let head: CgiHead | null = null;
  const body: number[] = [];
  for (const chunk of chunks) {
    if (head === null) {
      head = parser.push(chunk);
      if (head !== null) body.push(...parser.takeRest());
    } else {
      body.push(...chunk);
    }
  }
  parser.finish();
  return { head: head!, body: Uint8Array.from(body) };
}

const parse = (text: string, options?: { maxHeaderBytes?: number }) => run([bytes(text)], options).head;

function expectMalformed(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe("BACKEND_MALFORMED");
    expect((err as GatewayError).status).toBe(502);
    return;
  }
  expect.fail("expected BACKEND_MALFORMED");
}

describe("CgiResponseParser errors", () => {
  test("no blank line -> malformed", () => expectMalformed(() => parse("Content-Type: text/plain\r\n")));
  test("empty output -> malformed", () => expectMalformed(() => parse("")));
  test("CR in header value -> malformed", () => expectMalformed(() => parse("X-A: a\rb\r\n\r\n")));
  test("CR before CRLF -> malformed", () => expectMalformed(() => parse("X-A: a\r\r\n\r\n")));
  test("NUL in header value -> malformed", () => expectMalformed(() => parse("X-A: a\0b\n\n")));
  test("line without colon -> malformed", () => expectMalformed(() => parse("Content-Type text/html\n\n")));
  test("obs-fold continuation line -> malformed", () => expectMalformed(() => parse("X-A: a\n  b\n\n")));
  test("space before colon -> malformed", () => expectMalformed(() => parse("X-A : a\n\n")));
  test("empty header name -> malformed", () => expectMalformed(() => parse(": a\n\n")));
  test("non-token header name -> malformed", () => expectMalformed(() => parse("X(A): a\n\n")));
  test.each(["abc", "20", "2000", "099", "600 Nope", "200\tOK", "200OK", "-200", "2x0 OK"])(
    "bad Status %j -> malformed",
    (status) => expectMalformed(() => parse(`Status: ${status}\n\n`)),
  );
  test("repeated Status -> malformed", () => expectMalformed(() => parse("Status: 200\nStatus: 404\n\n")));
  test("repeated Location -> malformed", () => expectMalformed(() => parse("Location: /a\nlocation: /b\n\n")));
  test("header block over limit -> malformed", () =>
    expectMalformed(() => parse(`X-A: ${"a".repeat(200)}\n\n`, { maxHeaderBytes: 100 })));
  test("header block over limit in small pushes -> malformed", () => {
    const parser = new CgiResponseParser({ maxHeaderBytes: 100 });
    expectMalformed(() => {
      for (const byte of bytes(`X-A: ${"a".repeat(200)}\n`)) parser.push(Uint8Array.of(byte));
    });
  });
  test("push after the head is a programming error", () => {
    const parser = new CgiResponseParser();
    parser.push(bytes("X-A: 1\n\n"));
    expect(() => parser.push(bytes("more"))).toThrow(GatewayError);
  });
});

describe("CgiResponseParser heads", () => {
  test("no Status and no Location -> 200 OK document", () => {
    expect(parse("Content-Type: text/html\r\n\r\n")).toEqual({
      status: 200,
      statusText: "OK",
      headers: [["Content-Type", "text/html"]],
      kind: "document",
    });
  });
  test("Status with reason", () => {
    const head = parse("Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\n");
    expect([head.status, head.statusText, head.headers]).toEqual([404, "Not Found", [["Content-Type", "text/plain"]]]);
  });
  test("Status without reason", () => expect(parse("Status: 200\n\n")).toMatchObject({ status: 200, statusText: "" }));
  test("Status name is case-insensitive", () => expect(parse("STATUS: 503 Busy\n\n").status).toBe(503));
  test("empty Status is a field not sent", () => expect(parse("Status:\n\n").status).toBe(200));
  test("head exactly at the limit is accepted", () => {
    const text = `X-A: ${"a".repeat(100 - 7)}\n\n`;
    expect(text.length).toBe(100);
    expect(parse(text, { maxHeaderBytes: 100 }).headers).toHaveLength(1);
    expectMalformed(() => parse(text, { maxHeaderBytes: 99 }));
  });
  test("keeps repeated Set-Cookie", () => {
    const head = parse("Set-Cookie: a=1\nSet-Cookie: b=2\nContent-Type: text/html\n\n");
    expect(head.headers).toEqual([
      ["Set-Cookie", "a=1"],
      ["Set-Cookie", "b=2"],
      ["Content-Type", "text/html"],
    ]);
    expect(new Headers(headToHeaders(head)).getSetCookie()).toEqual(["a=1", "b=2"]);
  });
  test("LF-only line endings", () => {
    expect(parse("Content-Type: text/plain\nX-A: 1\n\n").headers).toEqual([
      ["Content-Type", "text/plain"],
      ["X-A", "1"],
    ]);
  });
  test("mixed line endings", () => expect(parse("X-A: 1\r\nX-B: 2\n\r\n").headers).toHaveLength(2));
  test("values trimmed of SP and HTAB only", () => {
    expect(parse("X-A: \t a b \t\nX-B:\xa0c\n\n").headers).toEqual([
      ["X-A", "a b"],
      ["X-B", "\xa0c"],
    ]);
  });
  test("bytes over 0x7f pass through as latin1 chars", () => {
    const head = parse("X-Name: caf\xe9\n\n");
    expect(head.headers[0]![1].charCodeAt(3)).toBe(0xe9);
    expect(new Headers(headToHeaders(head)).get("x-name")).toBe("caf\xe9");
  });
  test("local redirect", () => {
    expect(parse("Location: /other.php?x=1\n\n")).toEqual({
      status: 200,
      statusText: "OK",
      headers: [["Location", "/other.php?x=1"]],
      kind: "local-redirect",
      location: "/other.php?x=1",
    });
  });
  test("a local path with other fields is a client redirect: the fields (a Set-Cookie) reach the client (RFC 3875 §6.2.2: nothing but Location)", () => {
    expect(parse("Location: /login\nSet-Cookie: sid=1\n\n")).toMatchObject({
      status: 302,
      kind: "client-redirect",
      location: "/login",
      headers: [
        ["Location", "/login"],
        ["Set-Cookie", "sid=1"],
      ],
    });
    expect(parse("Content-Type: text/html\nLocation: /next\n\n")).toMatchObject({ status: 302, kind: "client-redirect" });
  });
  test("client redirect", () => {
    expect(parse("Location: https://example.com/x\n\n")).toMatchObject({
      status: 302,
      statusText: "Found",
      kind: "client-redirect",
      location: "https://example.com/x",
    });
  });
  test("protocol-relative Location is a client redirect", () =>
    expect(parse("Location: //evil.example/\n\n").kind).toBe("client-redirect"));
  test("Status with Location keeps status", () => {
    expect(parse("Status: 301 Moved Permanently\nLocation: https://example.com/\n\n")).toMatchObject({
      status: 301,
      statusText: "Moved Permanently",
      kind: "client-redirect",
    });
    expect(parse("Status: 201 Created\nLocation: /items/7\n\n")).toMatchObject({
      status: 201,
      kind: "document",
      location: "/items/7",
    });
    expect(parse("Status: 302 Found\nLocation: /login\n\n")).toMatchObject({ status: 302, kind: "document" });
  });
  test("empty Location is a field not sent", () => expect(parse("Location:\n\n")).toMatchObject({ kind: "document", headers: [] }));
  test("headToHeaders keeps order and names", () => {
    const headers = new Headers(headToHeaders(parse("Content-Type: text/html\nX-Powered-By: PHP\n\n")));
    expect([...headers]).toEqual([
      ["content-type", "text/html"],
      ["x-powered-by", "PHP"],
    ]);
  });
});

describe("CgiResponseParser streaming", () => {
  test("body bytes after head are kept", () => {
    const parser = new CgiResponseParser();
    const head = parser.push(bytes("Content-Type: text/plain\r\n\r\nhello\r\n\r\nworld"));
    expect(head?.status).toBe(200);
    expect(new TextDecoder().decode(parser.takeRest())).toBe("hello\r\n\r\nworld");
    expect(parser.takeRest()).toHaveLength(0);
    parser.finish();
  });
  test("no body bytes -> empty rest", () => {
    const parser = new CgiResponseParser();
    parser.push(bytes("X-A: 1\n\n"));
    expect(parser.takeRest()).toHaveLength(0);
  });
  test("head split between CR and LF of the blank line", () => {
    const { head, body } = run([bytes("X-A: 1\r\n\r"), bytes("\nbody")]);
    expect(head.headers).toEqual([["X-A", "1"]]);
    expect(body).toEqual(bytes("body"));
  });
  test("head split between the two LFs", () => {
    const { head, body } = run([bytes("X-A: 1\n"), new Uint8Array(0), bytes("\n\n")]);
    expect(head.headers).toEqual([["X-A", "1"]]);
    expect(body).toEqual(bytes("\n"));
  });
  test("one byte at a time", () => {
    const { head, body } = run([...bytes("Status: 404 Not Found\r\nX-A: 1\r\n\r\nxy")].map((b) => Uint8Array.of(b)));
    expect(head).toMatchObject({ status: 404, statusText: "Not Found", headers: [["X-A", "1"]] });
    expect(body).toEqual(bytes("xy"));
  });

  // Any valid head: token names (not the CGI fields, so order and kind are
  // plain), latin1 values without edge blanks, an optional Status, LF or CRLF
  // per line, any body; cut anywhere, it parses to the same head and body.
  const nameChar = fc.constantFrom(..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
  const name = fc
    .array(nameChar, { minLength: 1, maxLength: 12 })
    .map((chars) => chars.join(""))
    .filter((n) => !["status", "location", "content-type"].includes(n.toLowerCase()));
  const valueChars = [...Array(256).keys()]
    .filter((c) => c === 9 || (c >= 0x20 && c !== 0x7f))
    .map((c) => String.fromCharCode(c));
  const value = fc
    .array(fc.constantFrom(...valueChars), { maxLength: 20 })
    .map((chars) => chars.join("").replace(/^[ \t]+|[ \t]+$/g, ""));
  const eol = fc.constantFrom("\n", "\r\n");
  const response = fc.record({
    fields: fc.array(fc.tuple(name, value, eol), { maxLength: 8 }),
    status: fc.option(fc.tuple(fc.integer({ min: 100, max: 599 }), fc.constantFrom("", " OK", " Not Found"), eol), {
      nil: undefined,
    }),
    end: eol,
    body: fc.uint8Array({ maxLength: 64 }),
  });

  test("re-chunking the stream gives the same head and body", () => {
    fc.assert(
      fc.property(response, fc.array(fc.nat(), { maxLength: 10 }), (r, cuts) => {
        let text = r.status === undefined ? "" : `Status: ${r.status[0]}${r.status[1]}${r.status[2]}`;
        for (const [n, v, e] of r.fields) text += `${n}: ${v}${e}`;
        const stream = Uint8Array.from([...bytes(text + r.end), ...r.body]);
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((p, i, all) => stream.subarray(p, all[i + 1] ?? stream.length));

        const { head, body } = run(chunks);
        expect(head).toEqual({
          status: r.status?.[0] ?? 200,
          statusText: r.status === undefined ? "OK" : r.status[1].slice(1),
          headers: r.fields.map(([n, v]) => [n, v]),
          kind: "document",
        });
        expect(body).toEqual(r.body);
        expect(run([stream])).toEqual({ head, body });
      }),
      { numRuns: 500 },
    );
  });
});

describe("headToHeaders", () => {
  test("drops hop-by-hop fields", () => {
    const parser = new CgiResponseParser();
    const head = parser.push(new TextEncoder().encode("Connection: close\nTransfer-Encoding: chunked\nX-Kept: 1\n\n"))!;
    expect(new Headers(headToHeaders(head)).has("transfer-encoding")).toBe(false);
    expect(new Headers(headToHeaders(head)).get("x-kept")).toBe("1");
  });
});
