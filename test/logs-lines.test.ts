// Access and error log lines as their formatters make them from a request's
// record: whatever bytes a client put in its request, each format gives one
// line, every field in its place (JSON.parse gives the value back; combined
// keeps it inside its quotes); the error log's time, level and request context.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { combinedLine, jsonLine } from "../src/access-log.ts";
import { errorLogLine, requestContext } from "../src/logs.ts";
import { RequestRecord, type RecordedRequest } from "../src/request-record.ts";

function record(fields: Partial<RecordedRequest> = {}): RequestRecord {
  const r = new RequestRecord({ method: "GET", target: "/", protocol: "HTTP/1.1", client: "192.0.2.7", referer: null, userAgent: null, ...fields });
  r.status = 200;
  r.finish(true);
  return r;
}

/** A quoted combined field, its escapes undone: \" \\ \xHH and \uHHHH. */
function unquote(field: string): string {
  return field.slice(1, -1).replace(/\\(x[0-9a-f]{2}|u[0-9a-f]{4}|.)/g, (_, e: string) => (e.length > 1 ? String.fromCharCode(parseInt(e.slice(1), 16)) : e));
}

/** What ends a line for some reader (Python's splitlines among them). */
const LINE_END = /[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;

const QUOTED = String.raw`"(?:[^"\\]|\\.)*"`;
const COMBINED = new RegExp(`^192\\.0\\.2\\.7 - - \\[[^\\]]+\\] (${QUOTED}) 200 0 (${QUOTED}) (${QUOTED})$`);
/** What a client can put in a header or a target, and line ends it cannot, in case some server lets them through. */
const hostile = fc.string({ unit: fc.oneof(fc.constantFrom("\n", "\r", "\x85", "\v", '"', "\\", "\u2028", "\u2029", "\x00", "\x1b", "\t", "}", "{"), fc.string({ minLength: 1, maxLength: 1 }), fc.integer({ min: 0x80, max: 0xff }).map((n) => String.fromCharCode(n))) });

describe("access lines", () => {
  test("a User-Agent with line ends and quotes: one JSON line, its value given back", () => {
    const agent = 'a"\n{"status":999}\r\n\u2028x';
    const line = jsonLine(record({ userAgent: agent }));
    expect(line).not.toMatch(LINE_END);
    expect(JSON.parse(line).user_agent).toBe(agent);
  });

  test("a User-Agent with line ends and quotes: one combined line, inside its quotes", () => {
    const agent = 'a" 200 1 "-" "\n192.0.2.8 - - [x] "GET /forged HTTP/1.1" 200 1 "-" "-';
    const line = combinedLine(record({ userAgent: agent }));
    expect(line).not.toMatch(LINE_END);
    expect(unquote(COMBINED.exec(line)![3]!)).toBe(agent);
  });

  test("any bytes in the target, Referer and User-Agent: one line in either format, each field given back (property)", () => {
    fc.assert(
      fc.property(hostile, hostile, hostile, (target, referer, userAgent) => {
        const r = record({ target, referer, userAgent });
        const json = jsonLine(r);
        expect(json).not.toMatch(LINE_END);
        expect(JSON.parse(json)).toMatchObject({ target, referer, user_agent: userAgent });
        const combined = combinedLine(r);
        expect(combined).not.toMatch(LINE_END);
        const fields = COMBINED.exec(combined);
        expect(fields).not.toBeNull();
        expect(unquote(fields![1]!)).toBe(`GET ${target} HTTP/1.1`);
        if (referer !== "") expect(unquote(fields![2]!)).toBe(referer);
        if (userAgent !== "") expect(unquote(fields![3]!)).toBe(userAgent);
      }),
    );
  });

  test("json: unknown values are null, times in milliseconds", () => {
    const r = record();
    const line = JSON.parse(jsonLine(r)) as Record<string, unknown>;
    expect(line).toMatchObject({ client: "192.0.2.7", route: null, backend: null, upstream_time: null, referer: null, user_agent: null, bytes_sent: 0, status: 200 });
    expect(line.time).toBe(new Date(r.start).toISOString());
  });
});

describe("error lines", () => {
  test("nginx's time and level, in UTC", () => {
    expect(errorLogLine(Date.UTC(2026, 11, 6, 21, 0, 7, 500), "error", "x")).toBe("2026/12/06 21:00:07 [error] x");
    expect(errorLogLine(Date.UTC(2026, 0, 2, 3, 4, 5), "notice", "y")).toBe("2026/01/02 03:04:05 [notice] y");
  });

  test("a request's context: client and the request line, escaped as the access log's", () => {
    expect(requestContext(record({ target: "/x.php?a=1" }))).toBe(', client: 192.0.2.7, request: "GET /x.php?a=1 HTTP/1.1"');
    expect(requestContext(record({ target: '/"\n', client: "" }))).toBe(String.raw`, client: -, request: "GET /\"\x0a HTTP/1.1"`);
  });
});
