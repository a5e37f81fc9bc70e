// RFC 3875 §4.1 meta-variables from src/cgi/env.ts. Each case compares only the
// keys it is about (a subset map, as Go's net/http/cgi tests do); `absent`
// lists keys that must not be there.

import { describe, expect, test } from "vitest";
import { type ConnInfo, normalizeAddress, UNKNOWN_CONN } from "../src/cgi/conn.ts";
import { type CgiEnvInput, cgiEnv, decodePath, hasForbiddenPathBytes } from "../src/cgi/env.ts";
import { requestTarget } from "../src/cgi/target.ts";

interface Case {
  name: string;
  url: string;
  method?: string;
  body?: string;
  headers?: [string, string][];
  conn?: Partial<ConnInfo>;
  input?: Partial<CgiEnvInput>;
  want: Record<string, string>;
  absent?: string[];
}

const CONN: ConnInfo = {
  remoteAddress: "192.0.2.10",
  remotePort: 51234,
  localAddress: "192.0.2.1",
  localPort: 8080,
  tls: false,
  httpVersion: "1.1",
};

function envFor(c: Case): Record<string, string> {
  const request = new Request(c.url, {
    method: c.method ?? "GET",
    headers: c.headers ?? [],
    ...(c.body === undefined ? {} : { body: c.body }),
  });
  const target = requestTarget(request.url);
  return cgiEnv({
    request,
    target,
    conn: { ...CONN, ...c.conn },
    scriptName: decodePath(target.pathname)!,
    pathInfo: "",
    ...c.input,
  });
}

/** A header value as runtimes give it: one char per byte (a ByteString). */
const byteString = (text: string) => String.fromCharCode(...new TextEncoder().encode(text));

const cases: Case[] = [
  {
    name: "UTF-8 bytes in a header value reach the backend as the same UTF-8 bytes",
    url: "http://example.com/x",
    headers: [["X-Name", byteString("café ✓")]],
    want: { HTTP_X_NAME: "café ✓" },
  },
  {
    name: "other non-ASCII bytes (obs-text) stay one char per byte",
    url: "http://example.com/x",
    headers: [["X-Name", "caf\xe9"]],
    want: { HTTP_X_NAME: "caf\xe9" },
  },
  {
    name: "fixed variables",
    url: "http://example.com:8080/index.php",
    headers: [["Host", "example.com:8080"]],
    want: {
      GATEWAY_INTERFACE: "CGI/1.1",
      SERVER_SOFTWARE: "postern",
      SERVER_PROTOCOL: "HTTP/1.1",
      SERVER_NAME: "example.com",
      SERVER_PORT: "8080",
      SERVER_ADDR: "192.0.2.1",
      REMOTE_ADDR: "192.0.2.10",
      REMOTE_PORT: "51234",
      REQUEST_METHOD: "GET",
      REQUEST_SCHEME: "http",
      REDIRECT_STATUS: "200",
      SCRIPT_NAME: "/index.php",
      DOCUMENT_URI: "/index.php",
      HTTP_HOST: "example.com:8080",
    },
    absent: ["HTTPS", "PATH_INFO", "PATH_TRANSLATED", "DOCUMENT_ROOT", "SCRIPT_FILENAME", "AUTH_TYPE"],
  },
  {
    name: "serverSoftware and HTTP/2",
    url: "http://example.com/",
    conn: { httpVersion: "2" },
    input: { serverSoftware: "postern/0.1" },
    want: { SERVER_SOFTWARE: "postern/0.1", SERVER_PROTOCOL: "HTTP/2" },
  },
  {
    name: "no query string",
    url: "http://example.com/index.php",
    want: { QUERY_STRING: "", REQUEST_URI: "/index.php" },
  },
  {
    name: "empty query string",
    url: "http://example.com/index.php?",
    want: { QUERY_STRING: "", REQUEST_URI: "/index.php?" },
  },
  {
    name: "encoded query string stays raw",
    url: "http://example.com/index.php?a=b%20c&d=%E2%9C%93&e=+",
    want: { QUERY_STRING: "a=b%20c&d=%E2%9C%93&e=+", REQUEST_URI: "/index.php?a=b%20c&d=%E2%9C%93&e=+" },
  },
  {
    name: "PATH_INFO and PATH_TRANSLATED",
    url: "http://example.com/app.php/extra/path?x=1",
    input: {
      scriptName: "/app.php",
      pathInfo: "/extra/path",
      documentRoot: "/var/www/",
      scriptFilename: "/var/www/app.php",
    },
    want: {
      SCRIPT_NAME: "/app.php",
      PATH_INFO: "/extra/path",
      PATH_TRANSLATED: "/var/www/extra/path",
      DOCUMENT_URI: "/app.php/extra/path",
      DOCUMENT_ROOT: "/var/www/",
      SCRIPT_FILENAME: "/var/www/app.php",
      REQUEST_URI: "/app.php/extra/path?x=1",
    },
  },
  {
    name: "no PATH_INFO: neither PATH_INFO nor PATH_TRANSLATED",
    url: "http://example.com/app.php",
    input: { scriptName: "/app.php", documentRoot: "/var/www" },
    want: { DOCUMENT_ROOT: "/var/www" },
    absent: ["PATH_INFO", "PATH_TRANSLATED"],
  },
  {
    name: "PATH_INFO without a document root: no PATH_TRANSLATED",
    url: "http://example.com/app.php/x",
    input: { scriptName: "/app.php", pathInfo: "/x" },
    want: { PATH_INFO: "/x" },
    absent: ["PATH_TRANSLATED", "DOCUMENT_ROOT"],
  },
  {
    name: "percent-encoded and UTF-8 path: REQUEST_URI encoded, SCRIPT_NAME and PATH_INFO decoded",
    url: "http://example.com/caf%C3%A9/a%20b.php/%E2%9C%93/é",
    input: { scriptName: "/café/a b.php", pathInfo: "/✓/é", documentRoot: "/srv" },
    want: {
      REQUEST_URI: "/caf%C3%A9/a%20b.php/%E2%9C%93/%C3%A9",
      SCRIPT_NAME: "/café/a b.php",
      PATH_INFO: "/✓/é",
      PATH_TRANSLATED: "/srv/✓/é",
      DOCUMENT_URI: "/café/a b.php/✓/é",
    },
  },
  {
    name: "repeated headers joined with comma",
    url: "http://example.com/",
    headers: [
      ["Accept", "text/html"],
      ["Accept", "application/json"],
      ["X-Forwarded-For", "198.51.100.1"],
      ["X-Forwarded-For", "198.51.100.2"],
    ],
    want: { HTTP_ACCEPT: "text/html, application/json", HTTP_X_FORWARDED_FOR: "198.51.100.1, 198.51.100.2" },
  },
  {
    name: "Cookie kept as the runtime joined it",
    url: "http://example.com/",
    headers: [["Cookie", "a=1; b=2"]],
    want: { HTTP_COOKIE: "a=1; b=2" },
  },
  {
    name: "drops Proxy header (httpoxy)",
    url: "http://example.com/",
    headers: [["Proxy", "http://evil.example:8888"], ["Proxy-Authorization", "x"]],
    want: { HTTP_PROXY_AUTHORIZATION: "x" },
    absent: ["HTTP_PROXY"],
  },
  {
    name: "drops header names with underscore, keeps the one with dash",
    url: "http://example.com/",
    headers: [["X-Forwarded-For", "203.0.113.5"], ["X_Forwarded_For", "10.0.0.1"], ["X_Other", "1"]],
    want: { HTTP_X_FORWARDED_FOR: "203.0.113.5" },
    absent: ["HTTP_X_OTHER"],
  },
  {
    name: "underscoresInHeaders keeps underscore names, the dash name still wins",
    url: "http://example.com/",
    headers: [["X_Forwarded_For", "10.0.0.1"], ["X-Forwarded-For", "203.0.113.5"], ["X_Other", "1"]],
    input: { underscoresInHeaders: true },
    want: { HTTP_X_FORWARDED_FOR: "203.0.113.5", HTTP_X_OTHER: "1" },
  },
  {
    name: "drops header names with characters CGI cannot carry",
    url: "http://example.com/",
    headers: [["X.Dot", "1"], ["X~Tilde", "2"], ["X-Fine", "3"]],
    input: { underscoresInHeaders: true },
    want: { HTTP_X_FINE: "3" },
    absent: ["HTTP_X.DOT", "HTTP_X_DOT", "HTTP_X~TILDE"],
  },
  {
    name: "HTTPS off",
    url: "http://example.com/",
    want: { REQUEST_SCHEME: "http" },
    absent: ["HTTPS"],
  },
  {
    name: "HTTPS on",
    url: "https://example.com/",
    conn: { tls: true, localPort: 443 },
    want: { HTTPS: "on", REQUEST_SCHEME: "https", SERVER_PORT: "443" },
  },
  {
    name: "IPv6 addresses",
    url: "http://[2001:db8::1]:8080/",
    headers: [["Host", "[2001:db8::1]:8080"]],
    conn: { remoteAddress: "2001:db8::7", localAddress: "2001:db8::1" },
    want: { REMOTE_ADDR: "2001:db8::7", SERVER_ADDR: "2001:db8::1", SERVER_NAME: "[2001:db8::1]" },
  },
  {
    name: "IPv4-mapped IPv6 addresses shown as IPv4",
    url: "http://example.com/",
    conn: { remoteAddress: "::ffff:127.0.0.1", localAddress: "::FFFF:192.0.2.1" },
    want: { REMOTE_ADDR: "127.0.0.1", SERVER_ADDR: "192.0.2.1" },
  },
  {
    name: "SERVER_NAME falls back to the local address without Host",
    url: "http://example.com/",
    conn: { localAddress: "::1" },
    want: { SERVER_NAME: "[::1]", SERVER_ADDR: "::1" },
    absent: ["HTTP_HOST"],
  },
  {
    name: "unknown connection: port and name from the URL, empty addresses",
    url: "https://example.com/",
    conn: { ...UNKNOWN_CONN, tls: true },
    want: { SERVER_NAME: "example.com", SERVER_PORT: "443", REMOTE_ADDR: "", SERVER_ADDR: "", REMOTE_PORT: "0" },
  },
  {
    name: "CONTENT_TYPE and CONTENT_LENGTH from real headers",
    url: "http://example.com/",
    method: "POST",
    body: "a=1",
    headers: [["Content-Type", "application/x-www-form-urlencoded"], ["Content-Length", "3"]],
    want: { CONTENT_TYPE: "application/x-www-form-urlencoded", CONTENT_LENGTH: "3", REQUEST_METHOD: "POST" },
    absent: ["HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"],
  },
  {
    name: "CONTENT_LENGTH with leading zeros is the number (RFC 9110 §8.6)",
    url: "http://example.com/",
    method: "POST",
    body: "hello",
    headers: [["Content-Length", "005"]],
    want: { CONTENT_LENGTH: "5" },
  },
  {
    name: "CONTENT_LENGTH of zeros is 0",
    url: "http://example.com/",
    method: "POST",
    headers: [["Content-Length", "00"]],
    want: { CONTENT_LENGTH: "0" },
  },
  {
    name: "no CONTENT_LENGTH for a GET whose body is not passed on",
    url: "http://example.com/",
    headers: [["Content-Length", "5"]],
    want: {},
    absent: ["CONTENT_LENGTH", "HTTP_CONTENT_LENGTH"],
  },
  {
    name: "no CONTENT_LENGTH for a HEAD whose body is not passed on",
    url: "http://example.com/",
    method: "HEAD",
    headers: [["Content-Length", "5"]],
    want: {},
    absent: ["CONTENT_LENGTH", "HTTP_CONTENT_LENGTH"],
  },
  {
    name: "no CONTENT_TYPE or CONTENT_LENGTH without the headers",
    url: "http://example.com/",
    absent: ["CONTENT_TYPE", "CONTENT_LENGTH"],
    want: {},
  },
  {
    name: "underscore spellings never become CONTENT_TYPE or CONTENT_LENGTH",
    url: "http://example.com/",
    headers: [["Content_Type", "text/evil"], ["Content_Length", "9"]],
    input: { underscoresInHeaders: true },
    want: {},
    absent: ["CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"],
  },
  {
    name: "Authorization passed, AUTH_TYPE never claimed",
    url: "http://example.com/",
    headers: [["Authorization", "Basic dXNlcjpwYXNz"]],
    want: { HTTP_AUTHORIZATION: "Basic dXNlcjpwYXNz" },
    absent: ["AUTH_TYPE"],
  },
  {
    name: "drops Transfer-Encoding (the gateway frames the body)",
    url: "http://example.com/",
    method: "POST",
    headers: [["Transfer-Encoding", "chunked"]],
    want: {},
    absent: ["HTTP_TRANSFER_ENCODING"],
  },
  {
    name: "extra overrides",
    url: "http://example.com/",
    headers: [["Host", "example.com"]],
    input: { extra: { SERVER_NAME: "www.example.com", APP_ENV: "production", HTTPS: "on" } },
    want: { SERVER_NAME: "www.example.com", APP_ENV: "production", HTTPS: "on" },
  },
];

describe("cgiEnv", () => {
  test.each(cases)("$name", (c) => {
    const env = envFor(c);
    expect({ ...env }).toMatchObject(c.want);
    for (const key of c.absent ?? []) expect(Object.hasOwn(env, key), key).toBe(false);
  });

  test("no key has an undefined or non-string value", () => {
    for (const c of cases) {
      for (const [key, value] of Object.entries(envFor(c))) expect(typeof value, `${c.name}: ${key}`).toBe("string");
    }
  });

  test("no host environment leaks in", () => {
    const env = envFor(cases[0]!);
    for (const key of ["PATH", "HOME", "USER", "PWD", "SHELL"]) expect(Object.hasOwn(env, key), key).toBe(false);
  });
});

describe("decodePath", () => {
  test.each([
    ["/index.php", "/index.php"],
    ["/a%20b", "/a b"],
    ["/caf%C3%A9/%e2%9c%93", "/café/✓"],
    ["/100%25", "/100%"],
    ["/a%2Fb", "/a/b"],
  ])("%s -> %s", (raw, decoded) => {
    expect(decodePath(raw)).toBe(decoded);
  });

  test.each([
    ["/%", "lone %"],
    ["/%2", "short escape"],
    ["/%zz", "not hex"],
    ["/%C3", "truncated UTF-8"],
    ["/%C3%28", "bad continuation byte"],
    ["/%FF", "invalid UTF-8 byte"],
    ["/%C0%AF", "overlong /"],
    ["/%ED%A0%80", "UTF-16 surrogate"],
  ])("%s (%s) -> null", (raw) => {
    expect(decodePath(raw)).toBeNull();
  });
});

describe("hasForbiddenPathBytes (CVE-2019-11043)", () => {
  test.each([
    ["/a\nb.php", true],
    ["/a\rb", true],
    ["/a\0b", true],
    [decodePath("/x.php/%0a")!, true],
    ["/a b/é.php", false],
  ])("%j -> %s", (path, forbidden) => {
    expect(hasForbiddenPathBytes(path)).toBe(forbidden);
  });
});

describe("normalizeAddress", () => {
  test.each([
    ["::ffff:10.0.0.1", "10.0.0.1"],
    ["::1", "::1"],
    ["::ffff:a00:1", "::ffff:a00:1"],
    ["10.0.0.1", "10.0.0.1"],
    ["", ""],
  ])("%s -> %s", (address, normalized) => {
    expect(normalizeAddress(address)).toBe(normalized);
  });
});
