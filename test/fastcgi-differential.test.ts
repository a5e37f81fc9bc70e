// Differential test of the FastCGI gateway: postern, nginx (Debian's stock
// fastcgi.conf) and lighttpd (mod_fastcgi) stand in front of ONE php-fpm with
// the same document root, each gets the same request bytes, and what PHP saw
// ($_SERVER's CGI variables of RFC 3875 §4.1, $_GET, $_POST, $_COOKIE, the
// body) must be the same. The differences that are accepted are all in
// KNOWN_DIFFERENCES, each with its reason: that table is the documentation of
// where postern departs from the two servers it is measured against.

import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { fastcgi, serve } from "../runtimes/node/index.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { ANY, matches, UNSET, withoutKnown } from "./helpers/known-differences.ts";
import { startLighttpd } from "./helpers/lighttpd.ts";
import { startNginx } from "./helpers/nginx.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { buildRequest, rawRequest, type RawResponse } from "./helpers/raw-http.ts";

const ROOT = fileURLToPath(new URL("./fixtures/php", import.meta.url));

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php8.2-fpm");
const NGINX = requireBinary(["nginx"], "nginx");
const LIGHTTPD = requireBinary(["lighttpd"], "lighttpd");

type Reference = "nginx" | "lighttpd";

interface KnownDifference {
  reference: Reference;
  /** A $_SERVER key, or "$_GET" / "$_POST" / "$_COOKIE" (as JSON). */
  key: string;
  /** What PHP sees through postern, and through the reference: exact, UNSET or ANY. */
  postern: string;
  theirs: string;
  why: string;
}

// Accepted only in exactly this shape (value through postern, value through the
// reference); any other difference fails. An entry that no request shows any
// more fails too ("... entry still shows"), so the table cannot go stale.
const KNOWN_DIFFERENCES: KnownDifference[] = [
  { reference: "nginx", key: "CONTENT_TYPE", postern: UNSET, theirs: "", why: "fastcgi.conf always sends $content_type; RFC 3875 §4.1.3: unset when the request has no body type" },
  { reference: "nginx", key: "CONTENT_LENGTH", postern: UNSET, theirs: "", why: "fastcgi.conf always sends $content_length; RFC 3875 §4.1.2: NULL or unset when there is no body" },
  { reference: "lighttpd", key: "CONTENT_LENGTH", postern: UNSET, theirs: "0", why: "lighttpd sends 0 for a request without a body; RFC 3875 §4.1.2: NULL or unset when there is no body" },
  { reference: "nginx", key: "PATH_INFO", postern: UNSET, theirs: "", why: "`fastcgi_param PATH_INFO $fastcgi_path_info` sends it empty; postern, like lighttpd, leaves it unset (RFC 3875 §4.1.5 allows both)" },
  { reference: "nginx", key: "PATH_TRANSLATED", postern: ANY, theirs: UNSET, why: "Debian's fastcgi.conf has no PATH_TRANSLATED; postern sets it as RFC 3875 §4.1.6 and lighttpd do (root + PATH_INFO)" },
  { reference: "lighttpd", key: "PATH_TRANSLATED", postern: UNSET, theirs: ROOT, why: "lighttpd sends none, but its broken-scriptfilename makes php-fpm's cgi.fix_pathinfo invent the bare root; RFC 3875 §4.1.6: unset without PATH_INFO" },
  { reference: "lighttpd", key: "DOCUMENT_URI", postern: ANY, theirs: UNSET, why: "DOCUMENT_URI is nginx's (fastcgi.conf), not RFC 3875's; postern gives it as nginx does, lighttpd has no such variable" },
  { reference: "nginx", key: "SERVER_NAME", postern: "127.0.0.1", theirs: "localhost", why: "nginx sends its configured server_name; postern, like lighttpd, the host the client addressed (RFC 3875 §4.1.14)" },
  { reference: "nginx", key: "HTTP_CONTENT_TYPE", postern: UNSET, theirs: ANY, why: "nginx copies every field; RFC 3875 §4.1.18: fields given as CONTENT_TYPE/CONTENT_LENGTH need not be repeated" },
  { reference: "nginx", key: "HTTP_CONTENT_LENGTH", postern: UNSET, theirs: ANY, why: "as HTTP_CONTENT_TYPE (RFC 3875 §4.1.18)" },
  { reference: "lighttpd", key: "HTTP_CONTENT_LENGTH", postern: UNSET, theirs: ANY, why: "as nginx's HTTP_CONTENT_LENGTH (RFC 3875 §4.1.18)" },
  { reference: "nginx", key: "HTTP_X_DUP", postern: "1, 2", theirs: "2", why: "nginx < 1.23.0 sends each field line as its own param and php-fpm keeps the last; RFC 9110 §5.3 joins them with \", \" (as nginx >= 1.23.0 and lighttpd)" },
  { reference: "nginx", key: "HTTP_COOKIE", postern: "a=1; b=two; c=3", theirs: "c=3", why: "the same nginx 1.22 behaviour drops all but the last Cookie line; RFC 6265 §5.4 joins them with \"; \" (as lighttpd)" },
  { reference: "nginx", key: "$_COOKIE", postern: '{"a":"1","b":"two","c":"3"}', theirs: '{"c":"3"}', why: "follows from HTTP_COOKIE above" },
  { reference: "nginx", key: "HTTP_TRANSFER_ENCODING", postern: UNSET, theirs: "chunked", why: "hop-by-hop (RFC 9110 §7.6.1): the gateway de-chunks the body and sends CONTENT_LENGTH, so \"chunked\" would mislead the backend (lighttpd drops it too)" },
  { reference: "lighttpd", key: "HTTP_X_UNDERSCORE", postern: UNSET, theirs: "u", why: "DESIGN.md security default, as nginx's underscores_in_headers off: after \"-\"->\"_\" X_Forwarded_For would pose as X-Forwarded-For" },
];

/** RFC 3875 §4.1 variables (and nginx's/PHP's usual extras) compared, besides every HTTP_* one. */
const CGI_KEYS = [
  "GATEWAY_INTERFACE", "SERVER_PROTOCOL", "REQUEST_METHOD", "QUERY_STRING", "REQUEST_URI", "DOCUMENT_URI",
  "SCRIPT_NAME", "SCRIPT_FILENAME", "PATH_INFO", "PATH_TRANSLATED", "DOCUMENT_ROOT", "CONTENT_TYPE",
  "CONTENT_LENGTH", "REMOTE_ADDR", "SERVER_ADDR", "SERVER_NAME", "REQUEST_SCHEME", "HTTPS", "REDIRECT_STATUS",
  "PHP_SELF", "AUTH_TYPE",
];
// Not compared, they differ by nature: SERVER_PORT, REMOTE_PORT, SERVER_SOFTWARE,
// REQUEST_TIME(_FLOAT), and HTTP_HOST's port (each server listens on its own).

interface Shape {
  name: string;
  method: string;
  target: string;
  /** Field lines after Host and Connection, in order, repeats kept. */
  headers?: [string, string][];
  body?: string;
  version?: "HTTP/1.0";
}

const FORM = "a=1&b=x+y&c=%26&d=%20";

const SHAPES: Shape[] = [
  { name: "plain GET", method: "GET", target: "/env.php" },
  { name: "query string", method: "GET", target: "/env.php?a=1&b=two" },
  { name: "query string with %20, + and an encoded &", method: "GET", target: "/env.php?q=hello%20world&p=a+b&amp=x%26y&e=" },
  { name: "empty query (a bare ?)", method: "GET", target: "/env.php?" },
  { name: "PATH_INFO", method: "GET", target: "/env.php/a/b" },
  { name: "PATH_INFO and a query", method: "GET", target: "/env.php/a/b?x=1" },
  { name: "percent-encoded PATH_INFO", method: "GET", target: "/env.php/a%20b/c%2Bd/" },
  { name: "UTF-8 PATH_INFO", method: "GET", target: "/env.php/caf%C3%A9/%E2%9C%93" },
  {
    name: "POST form with Content-Type and Content-Length",
    method: "POST",
    target: "/env.php?q=1",
    headers: [["Content-Type", "application/x-www-form-urlencoded"], ["Content-Length", String(FORM.length)]],
    body: FORM,
  },
  {
    name: "POST with a chunked body",
    method: "POST",
    target: "/env.php",
    headers: [["Content-Type", "text/plain"], ["Transfer-Encoding", "chunked"]],
    body: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
  },
  { name: "POST with Content-Length: 0", method: "POST", target: "/env.php", headers: [["Content-Length", "0"]], body: "" },
  { name: "Cookie", method: "GET", target: "/env.php", headers: [["Cookie", "a=1; b=two"]] },
  { name: "two Cookie lines", method: "GET", target: "/env.php", headers: [["Cookie", "a=1; b=two"], ["Cookie", "c=3"]] },
  { name: "two X-Dup lines", method: "GET", target: "/env.php", headers: [["X-Dup", "1"], ["X-Dup", "2"]] },
  { name: "X_Underscore header", method: "GET", target: "/env.php", headers: [["X_Underscore", "u"]] },
  // nginx does send HTTP_PROXY here (its stock config has no httpoxy guard), but
  // php-fpm itself keeps HTTP_PROXY out of $_SERVER, so PHP cannot show it.
  { name: "Proxy header", method: "GET", target: "/env.php", headers: [["Proxy", "http://127.0.0.1:1"]] },
  { name: "Authorization header", method: "GET", target: "/env.php", headers: [["Authorization", "Basic dXNlcjpwYXNz"]] },
  // A HEAD answer has no body: env-header.php reports in a header instead.
  { name: "HEAD", method: "HEAD", target: "/env-header.php?x=1" },
  { name: "HTTP/1.0 GET", method: "GET", target: "/env.php", version: "HTTP/1.0" },
];

/** What PHP saw, flattened to one map of strings; absent keys are absent. */
type Seen = Record<string, string>;

async function send(port: number, shape: Shape): Promise<RawResponse> {
  const headers: [string, string][] = [
    ["Host", `127.0.0.1:${port}`],
    ["User-Agent", "postern-differential"],
    ["Connection", "close"],
    ...(shape.headers ?? []),
  ];
  return rawRequest(port, buildRequest(shape.method, shape.target, headers, shape.body, shape.version));
}

function seen(response: RawResponse, shape: Shape): Seen {
  const text =
    shape.method === "HEAD"
      ? Buffer.from(response.headers.find(([name]) => name === "x-env")?.[1] ?? "", "base64").toString("utf8")
      : response.body.toString("utf8");
  let report: { server: Record<string, unknown>; [part: string]: unknown };
  try {
    report = JSON.parse(text);
  } catch {
    throw new Error(`status ${response.status}, not the env report: ${JSON.stringify(text.slice(0, 300))}`);
  }
  const out: Seen = { status: String(response.status) };
  for (const [key, value] of Object.entries(report.server)) {
    if (!CGI_KEYS.includes(key) && !key.startsWith("HTTP_")) continue;
    out[key] = key === "HTTP_HOST" ? String(value).replace(/:\d+$/, "") : String(value);
  }
  for (const [part, key] of [["get", "$_GET"], ["post", "$_POST"], ["cookie", "$_COOKIE"]] as const) {
    if (part in report) out[key] = JSON.stringify(report[part]);
  }
  if ("body_length" in report) out.body = `${report.body_length} bytes, md5 ${report.body_md5}`;
  return out;
}

/** The KNOWN_DIFFERENCES entry of `reference` accounting for a key's two values. */
function knownDifference(reference: Reference, key: string, ours: string | undefined, theirs: string | undefined): KnownDifference | undefined {
  return KNOWN_DIFFERENCES.find((d) => d.reference === reference && d.key === key && matches(d.postern, ours) && matches(d.theirs, theirs));
}

const REFERENCES: { name: Reference; binary: string | undefined; start(fpm: PhpFpm): Promise<{ port: number; stop(): Promise<void> }> }[] = [
  { name: "nginx", binary: NGINX, start: (fpm) => startNginx({ root: ROOT, fastcgiPass: `unix:${fpm.socket}`, binary: NGINX }) },
  { name: "lighttpd", binary: LIGHTTPD, start: (fpm) => startLighttpd({ root: ROOT, fastcgiSocket: fpm.socket, binary: LIGHTTPD }) },
];

describe.skipIf(!PHP_FPM)("FastCGI differential: postern, nginx and lighttpd in front of one php-fpm", () => {
  let fpm: PhpFpm | undefined;
  let handler: ReturnType<typeof fastcgi> | undefined;
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  let posternPort = 0;

  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!);
    handler = fastcgi({ backend: [`unix:${fpm.socket}`], root: ROOT });
    await handler.ready;
    const app = new Hono();
    app.all("*", handler);
    server = await serve(app, { listen: ["127.0.0.1:0"] });
    const address = server.addresses[0]!;
    if (address.kind !== "tcp") throw new Error("postern did not listen on TCP");
    posternPort = address.port;
  });

  afterAll(async () => {
    await server?.close();
    await handler?.close();
    await fpm?.stop();
  });

  for (const reference of REFERENCES) {
    describe.skipIf(!reference.binary)(`postern and ${reference.name} give PHP the same request`, () => {
      let running: { port: number; stop(): Promise<void> } | undefined;
      const used = new Set<KnownDifference>();

      beforeAll(async () => {
        running = await reference.start(fpm!);
      });

      afterAll(async () => {
        await running?.stop();
      });

      for (const shape of SHAPES) {
        test(shape.name, async () => {
          const ours = seen(await send(posternPort, shape), shape);
          const theirs = seen(await send(running!.port, shape), shape);
          const [a, b] = withoutKnown(ours, theirs, (key, x, y) => knownDifference(reference.name, key, x, y), used);
          expect(a, `what PHP saw through postern (received) and through ${reference.name} (expected)`).toEqual(b);
        });
      }

      test(`every ${reference.name} entry of KNOWN_DIFFERENCES still shows`, () => {
        const stale = KNOWN_DIFFERENCES.filter((d) => d.reference === reference.name && !used.has(d));
        expect(stale).toEqual([]);
      });
    });
  }
});
