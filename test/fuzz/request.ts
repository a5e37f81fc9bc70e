// Fuzz targets for what postern decides about a request before any app sees
// it: the head checks (src/http/request-head.ts, RFC 9112 and RFC 9110) with
// any method, target, version and field lines, and the path normalisation
// (src/paths.ts, RFC 3986 §5.2.4, §6.2.2) of any target, and the Range
// header of the static gateway (gateways/static/range.ts).

import fc from "fast-check";
import { parseRange } from "../../gateways/static/range.ts";
import { isAuthority, targetAuthority } from "../../src/http/authority.ts";
import { checkRequestHead, checkTokens, checkTrailers, type Refusal } from "../../src/http/request-head.ts";
import { normalizePath, normalTarget, safePath } from "../../src/paths.ts";
import { check, expectSame, type FuzzFamily, wordText } from "./harness.ts";

const method = fc.oneof(fc.constantFrom("GET", "HEAD", "POST", "OPTIONS", "CONNECT", "PUT", "VERSION-CONTROL", "get", ""), wordText(["G", "E", "T", "-", "_", " ", "\0", "é"], 4));
const TARGET_WORDS = [
  "/", "//", "*", "http://", "https://", "HTTP://", "a", "b.c", "@", ":", ":80", ":65536", "?", "#", "[", "]", "[::1]", "::", "%", "%2e", "%2E", "%2f", "%5c",
  "%00", "%25", "%32", "%65", "%%", ".", "..", "/..", "/./", "\\", "\0", "\r", "\n", " ", "é", "~", "x=1",
];
const target = wordText(TARGET_WORDS, 16);
// Past the default size limits now and then (request line, field line, field count, header section: 414, 431).
const long = (text: string) => fc.integer({ min: 4000, max: 9000 }).map((n) => text.repeat(n));
const anyTarget = fc.oneof({ weight: 20, arbitrary: target }, { weight: 1, arbitrary: long("a").map((a) => `/${a}`) });
const version = fc.constantFrom("1.1", "1.0", "2.0", "0.9", "1.1 ", "");
const fieldName = fc.oneof(
  fc.constantFrom("Host", "host", "HOST", "Content-Length", "content-length", "Transfer-Encoding", "transfer-encoding", "Expect", "Content-Type", "X-A", "Cookie", ""),
  fc.string({ maxLength: 20 }),
);
const shortValue = wordText(["a", "b.c", ":80", "[::1]", "0", "5", "05", "-1", ",", ", ", " ", "\t", "\"", "\\", "chunked", "gzip", "identity", "100-continue", "text/html", "%", "/", "\0", "\r\n", "é"], 8);
const fieldValue = fc.oneof({ weight: 20, arbitrary: shortValue }, { weight: 1, arbitrary: long("v") });
const rawHeaders = fc
  .oneof(
    { weight: 20, arbitrary: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 12 }) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fieldName, shortValue), { minLength: 95, maxLength: 110 }) },
  )
  .map((pairs) => pairs.flat());

const STATUSES = new Set([400, 414, 417, 431, 501]);

function checkRefusal(refusal: Refusal | undefined): void {
  if (refusal === undefined) return;
  check(STATUSES.has(refusal.status) && typeof refusal.detail === "string", `refusal ${JSON.stringify(refusal)}`);
}

/** Any head: never a throw, a refusal with a status of its own, and what it lets through is unambiguous (RFC 9112 §6.3, §3.2). */
const requestHead = () =>
  fc.property(method, anyTarget, version, rawHeaders, (method, target, httpVersion, raw) => {
    const refusal = checkRequestHead({ method, target, httpVersion, rawHeaders: raw });
    checkRefusal(refusal);
    checkRefusal(checkTokens(method, raw));
    checkRefusal(checkTrailers(raw));
    if (refusal !== undefined) return;
    const values = (name: string) => raw.flatMap((v, i) => (i % 2 === 1 && raw[i - 1]!.toLowerCase() === name ? [v] : []));
    check(httpVersion === "1.1" || httpVersion === "1.0", `HTTP/${httpVersion} let through`);
    check(method !== "CONNECT", "CONNECT let through");
    const hosts = values("host");
    check(hosts.length <= 1 && (httpVersion === "1.0" || hosts.length === 1), `Host lines ${JSON.stringify(hosts)}`);
    check(hosts.every(isAuthority), "a Host that is not host[:port]");
    check(new Set(values("content-length")).size <= 1, "two Content-Lengths let through");
    check(values("content-length").length === 0 || values("transfer-encoding").length === 0, "Content-Length with Transfer-Encoding let through");
    check(values("content-type").length <= 1, "two Content-Types let through");
    if (!target.startsWith("/") && target !== "*") {
      const authority = targetAuthority(target);
      check(authority !== undefined && isAuthority(authority), `absolute-form target ${JSON.stringify(target)} without an authority`);
    }
  });

const segments = (path: string): string[] => path.split("/").slice(1);

/**
 * A normal path is its own normal form, starts with "/", and has no empty,
 * "." or ".." segment but the last; what safePath lets through, decoded once,
 * has no ".." segment, NUL, CR, LF or backslash, and is the same for a path
 * and its normal form.
 */
const paths = () =>
  fc.property(target, (text) => {
    const path = text.startsWith("/") ? text : `/${text}`;
    const normal = normalizePath(path);
    expectSame("normal form of the normal form", normalizePath(normal), normal);
    check(normal.startsWith("/"), `normal form ${JSON.stringify(normal)}`);
    const inner = segments(normal).slice(0, -1);
    check(!inner.some((s) => s === "" || s === "." || s === ".."), `normal form ${JSON.stringify(normal)} has a dot or empty segment`);
    check(![".", ".."].includes(segments(normal).at(-1)!), `normal form ${JSON.stringify(normal)} ends in a dot segment`);
    const safe = safePath(path);
    expectSame("safePath of a path and of its normal form", safe, safePath(normal));
    if (safe.ok) {
      check(safe.path.startsWith("/"), `safe path ${JSON.stringify(safe.path)}`);
      check(!segments(safe.path).includes(".."), `safe path ${JSON.stringify(safe.path)} climbs out of its root`);
      check(!/[\0\r\n\\]/.test(safe.path), `safe path ${JSON.stringify(safe.path)}`);
    } else {
      check(safe.status === 400 || safe.status === 404, `status ${safe.status}`);
    }
    const rewritten = normalTarget(text) ?? text;
    check(normalTarget(rewritten) === undefined, `normalTarget of ${JSON.stringify(rewritten)} is not itself`);
  });

/** Any Range header on a file of any size: the whole file, unsatisfiable, or bytes inside the file (RFC 9110 §14.1.1). */
const range = () =>
  fc.property(
    fc.oneof(
      wordText(["bytes", "BYTES", "=", " ", "\t", "-", ",", "0", "1", "5", "10", "99999999999999999999", "items", "é"], 10),
      fc
        .tuple(fc.constantFrom("bytes=", "bytes = ", "Bytes=\t"), fc.option(fc.bigInt({ min: 0n, max: 10n ** 20n })), fc.option(fc.bigInt({ min: 0n, max: 10n ** 20n })))
        .map(([unit, first, last]) => `${unit}${first ?? ""}-${last ?? ""}`),
    ),
    fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
    (header, size) => {
      const r = parseRange(header, size);
      if (r === undefined || r === "unsatisfiable") return;
      check(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end) && r.start >= 0 && r.start <= r.end && r.end < size, `range ${JSON.stringify(r)} of ${size} bytes`);
    },
  );

const HOST_WORDS = ["a", "B", "1", "0", "09", "255", "256", "999", "0x", "0X1f", "x", ".", ":", ":80", ":", "-", "_", "~", "xn--", "[", "]", "::", "[::1]", "%", "é", "@", "/"];

/** A Host postern lets through is one the URL parser takes, and spells the same (RFC 9110 §7.2; WHATWG URL host parsing). */
const host = () =>
  fc.property(wordText(HOST_WORDS, 8), (value) => {
    if (!isAuthority(value)) return;
    let url: URL;
    try {
      url = new URL(`http://${value}/`);
    } catch {
      throw new Error(`Host ${JSON.stringify(value)} passes isAuthority, but a URL cannot be built from it`);
    }
    const name = value.startsWith("[") ? value.slice(0, value.indexOf("]") + 1) : value.split(":")[0]!;
    if (!name.startsWith("[")) check(url.hostname === name.toLowerCase(), `Host ${JSON.stringify(value)} becomes ${url.hostname}`);
  });

export const request: FuzzFamily = {
  family: "request-head",
  targets: [
    { name: "checkRequestHead, checkTokens, checkTrailers, any head", share: 0.6, property: requestHead },
    { name: "isAuthority, any Host", share: 0.2, property: host },
    { name: "parseRange, any Range header", share: 0.2, property: range },
  ],
};

export const path: FuzzFamily = {
  family: "paths",
  targets: [{ name: "normalizePath, safePath, normalTarget, any target", share: 1, property: paths }],
};
