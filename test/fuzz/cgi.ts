// Fuzz targets for CGI response heads (RFC 3875 §6, src/cgi/response.ts),
// NPH responses (RFC 3875 §5, gateways/script/nph.ts) and a backend's
// Content-Length (RFC 9110 §8.6, src/cgi/framing.ts): any output in any
// chunking gives the same head and body, or a BACKEND_MALFORMED error, and
// the body the client reads is framed as declared.

import fc from "fast-check";
import { NphResponseParser } from "../../gateways/script/nph.ts";
import { type CgiOutput, cgiResponse } from "../../src/cgi/answer.ts";
import { declaredLength, framedBody, framedWhole } from "../../src/cgi/framing.ts";
import { type CgiHead, CgiResponseParser } from "../../src/cgi/response.ts";
import { GatewayError } from "../../src/errors.ts";
import { concatBytes } from "../../src/io/bytes.ts";
import { check, chunked, cuts, expectSame, type FuzzFamily, latin1, outcome, sameBytes, wordBytes, wordText } from "./harness.ts";

const isMalformed = (err: unknown): boolean => err instanceof GatewayError && err.code === "BACKEND_MALFORMED";

const FIELD_WORDS = [
  "Status", "status", "Location", "LOCATION", "Content-Type", "Content-Length", "content-length", "Transfer-Encoding", "Set-Cookie", "X-A",
  ":", ": ", " ", "\t", "\r", "\n", "\r\n", "\n\n", "\r\n\r\n", "\0", "\x7f", "\x80", "\xff", ",", ", ",
  "200", "302 Found", "404 Not Found", "99", "600", "5", "-1", "007", "99999999999999999", "text/html",
  "/x", "//host/x", "http://a/b", "mailto:x", "a", "\x01", "\x0b", "Connection", "close", "keep-alive", "204", "304", "101", "Status: 200 ",
];
const STATUS_WORDS = ["HTTP/1.1 ", "HTTP/1.0 ", "HTTP/2 ", "HTTP/1.1", "200", "404 Not Found", " OK", "\r\n", "\n", "\r", "\xe9", "\0"];

const often = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 9, arbitrary: good }, { weight: 1, arbitrary: bad });

/** A head line by line: field lines of CGI's fields and others (now and then a broken one), each end of line LF or CRLF. */
const lines = fc
  .tuple(
    fc.array(
      fc.tuple(
        often(fc.constantFrom("Status", "Location", "location", "Content-Type", "Content-Length", "Connection", "Set-Cookie", "Transfer-Encoding", "X-A"), fc.constantFrom(" X-A", "X A", "")),
        often(fc.constantFrom(":", ": "), fc.constantFrom(" :", ":\t")),
        often(fc.constantFrom("200", "200 OK", "302 Found", "301", "404 Gone", "/x", "/x?y", "//h/x", "http://a/b", "5", "5, 5", "X-A", "text/html"), wordText(FIELD_WORDS, 4)),
        often(fc.constantFrom("\n", "\r\n"), fc.constantFrom("\r\r\n", "\r")),
      ).map((parts) => parts.join("")),
      { maxLength: 4 },
    ),
    fc.constantFrom("\n", "\r\n", ""),
    fc.uint8Array({ maxLength: 16 }),
  )
  .map(([fields, end, body]) => concatBytes([latin1(fields.join("") + end), body]).slice());

/** CGI output: pieces of heads, heads line by line, sometimes a status line first, sometimes a very long line. */
const output = fc.oneof(
  { weight: 4, arbitrary: wordBytes(FIELD_WORDS, 40) },
  { weight: 4, arbitrary: lines },
  { weight: 2, arbitrary: fc.tuple(wordBytes(STATUS_WORDS, 6), fc.oneof(lines, wordBytes(FIELD_WORDS, 30))).map((parts) => concatBytes(parts).slice()) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1000, max: 200_000 }), wordBytes(FIELD_WORDS, 8)).map(([n, tail]) => concatBytes([new Uint8Array(n).fill(0x41), tail]).slice()) },
);
const maxHeaderBytes = fc.oneof(fc.constant(65536), fc.integer({ min: 1, max: 300 }));

interface Parser {
  push(chunk: Uint8Array): CgiHead | null;
  takeRest(): Uint8Array;
  finish(): void;
}

/** What a parser makes of the chunks: the head and body after it, or its error. */
function parse(make: () => Parser, chunks: Uint8Array[]): { head: CgiHead; body: Uint8Array } | { error: string } {
  const parser = make();
  const result = outcome(() => {
    for (let i = 0; i < chunks.length; i++) {
      const head = parser.push(chunks[i]!);
      if (head) return { head, body: concatBytes([parser.takeRest(), ...chunks.slice(i + 1)]).slice() };
    }
    parser.finish();
    throw new Error("finish() passed without a head");
  }, isMalformed);
  return "error" in result ? result : result.value;
}

/** An output that has ended: what a finished backend leaves. */
const NO_OUTPUT = { read: () => Promise.resolve(null), cancel: () => undefined };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** What every head handed to the client must hold, whatever the script wrote. */
function checkHead(head: CgiHead, bytes: Uint8Array, body: Uint8Array): void {
  check(Number.isInteger(head.status) && head.status >= 100 && head.status <= 599, `status ${head.status}`);
  check(!/[\r\n]/.test(head.statusText), "CR or LF in the reason phrase");
  for (const [name, value] of head.headers) {
    check(TOKEN.test(name), `header name ${JSON.stringify(name)}`);
    check(!/[\r\n\0]/.test(value), `CR, LF or NUL in ${name}`);
    check(value === value.replace(/^[ \t]+|[ \t]+$/g, ""), `untrimmed value of ${name}`);
  }
  if (head.kind === "local-redirect") check(head.location!.startsWith("/") && !head.location!.startsWith("//"), `local redirect to ${head.location}`);
  check(sameBytes(bytes.subarray(bytes.length - body.length), body), "the body is not the output's tail");
  // Every head that parses becomes the client's Response, or a 502 (src/cgi/answer.ts), whatever the runtime's Response accepts.
  for (const [ended, isHead] of [[true, false], [false, false], [true, true]] as const) {
    const response = outcome(() => cgiResponse(head, { parts: [body], ended }, NO_OUTPUT, { head: isHead, onCut: () => undefined }), isMalformed);
    if ("value" in response) check(response.value.status === head.status, `status ${response.value.status} for ${head.status}`);
  }
  // A head that parses has a Content-Length that is a number, or a typed error.
  outcome(() => {
    const length = declaredLength(head.headers);
    check(length === undefined || (Number.isSafeInteger(length) && length >= 0), `Content-Length ${length}`);
    if (length !== undefined) {
      const whole = outcome(() => framedWhole(body, length, { onCut: () => undefined }), isMalformed);
      if ("value" in whole) check(whole.value.length === length, "framedWhole length");
    }
  }, isMalformed);
}

const responseHead = () =>
  fc.property(output, maxHeaderBytes, cuts, (bytes, max, how) => {
    const make = () => new CgiResponseParser({ maxHeaderBytes: max });
    const whole = parse(make, [bytes]);
    expectSame("one chunk and many", whole, parse(make, chunked(bytes, how)));
    if ("head" in whole) checkHead(whole.head, bytes, whole.body);
  });

const nphHead = () =>
  fc.property(output, maxHeaderBytes, cuts, (bytes, max, how) => {
    const make = () => new NphResponseParser({ maxHeaderBytes: max });
    const whole = parse(make, [bytes]);
    expectSame("one chunk and many", whole, parse(make, chunked(bytes, how)));
    if ("head" in whole) {
      checkHead(whole.head, bytes, whole.body);
      check(!whole.head.headers.some(([name]) => name.toLowerCase() === "transfer-encoding"), "Transfer-Encoding passed on");
    }
  });

/** Content-Length field lines of any text: a non-negative safe integer, or BACKEND_MALFORMED (RFC 9110 §8.6). */
const contentLength = () =>
  fc.property(
    fc.array(fc.tuple(fc.constantFrom("Content-Length", "content-length", "CONTENT-LENGTH", "Content-Lengths", "X"), wordText(["0", "5", "50", "1", ",", ", ", " ", "\t", "-", "+", "1e3", "0x1", "999999999999999", "9999999999999999"])), { maxLength: 4 }),
    (fields) => {
      const result = outcome(() => declaredLength(fields), isMalformed);
      if ("value" in result && result.value !== undefined) check(Number.isSafeInteger(result.value) && result.value >= 0, `length ${result.value}`);
    },
  );

/** An output that hands over `chunks`, then its end, or `failure` in its place; `drained` resolves once all is read. */
function outputOf(chunks: Uint8Array[], failure: Error | undefined): CgiOutput & { drained: Promise<void> } {
  let next = 0;
  let drained!: () => void;
  return {
    read: () => {
      if (next < chunks.length) return Promise.resolve(chunks[next++]!);
      drained();
      return failure ? Promise.reject(failure) : Promise.resolve(null);
    },
    cancel: () => undefined,
    drained: new Promise((resolve) => (drained = resolve)),
  };
}

/**
 * A streamed body in any chunks, with or without a Content-Length, ending or
 * failing: the client reads exactly the declared bytes, or all of them and
 * then a GatewayError (never a whole-looking short body); bytes past the
 * length are dropped and noted once (RFC 9110 §8.6, CWE-113).
 */
const streamedBody = () =>
  fc.asyncProperty(
    fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 3 }),
    fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 6 }),
    fc.option(fc.nat({ max: 150 }), { nil: undefined }),
    fc.constantFrom(undefined, new GatewayError("BACKEND_IDLE_TIMEOUT", "no output"), new Error("connection reset")),
    async (parts, chunks, length, failure) => {
      const notes: GatewayError[] = [];
      const output = outputOf(chunks, failure);
      const reader = framedBody(parts, output, length, { onCut: (reason) => notes.push(reason) }).getReader();
      const read: Uint8Array[] = [];
      let error: unknown;
      try {
        for (let r = await reader.read(); !r.done; r = await reader.read()) read.push(r.value);
      } catch (err) {
        error = err;
      }
      await output.drained; // the rest of a complete body is read and dropped after the client's end
      const all = concatBytes([...parts, ...chunks]);
      const got = concatBytes(read);
      const complete = length !== undefined && all.length >= length;
      check(error === undefined || error instanceof GatewayError, `untyped stream error ${String(error)}`);
      check(complete ? error === undefined : (error !== undefined) === (length !== undefined || failure !== undefined), `stream error ${String(error)}`);
      check(sameBytes(got, complete ? all.subarray(0, length) : all), "the client's bytes");
      const excess = notes.filter((n) => n.message.includes("more output than"));
      check(excess.length === (complete && all.length > length ? 1 : 0), `${excess.length} notes of excess output`);
    },
  );

export const cgi: FuzzFamily = {
  family: "cgi-response",
  targets: [
    { name: "CgiResponseParser, any output, re-chunked", share: 0.6, property: responseHead },
    { name: "declaredLength, any Content-Length", share: 0.2, property: contentLength },
    { name: "framedBody, any output and Content-Length", share: 0.2, property: streamedBody },
  ],
};

export const nph: FuzzFamily = {
  family: "nph",
  targets: [{ name: "NphResponseParser, any output, re-chunked", share: 1, property: nphHead }],
};
