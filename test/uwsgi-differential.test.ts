// Differential test of the uwsgi and SCGI gateways: postern (a route at "*")
// and nginx 1.22 (`location /` with Debian's stock uwsgi_params or
// scgi_params and uwsgi_pass / scgi_pass) stand in front of ONE uWSGI
// serving test/fixtures/uwsgi/app.py; each gets the same request bytes, and
// the WSGI environ the app sees (its CGI variables and HTTP_* keys, the
// body) must be the same, but for KNOWN_DIFFERENCES, each with its reason.
// The app runs without its wsgiref.validate wrapper here: nginx's environ
// fails it (no SCRIPT_NAME; HTTP_CONTENT_TYPE), postern's passes it
// (uwsgi-routes.test.ts).

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { findUwsgi, startUwsgi } from "./fixtures/uwsgi/server.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { ANY, matches, UNSET, withoutKnown } from "./helpers/known-differences.ts";
import { startNginxServer } from "./helpers/nginx.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { buildRequest, rawRequest } from "./helpers/raw-http.ts";
import type { ServerProcess } from "./helpers/server-process.ts";

const UWSGI = findUwsgi();
const NGINX = requireBinary(["nginx"], "nginx");

type Protocol = "uwsgi" | "scgi";

interface KnownDifference {
  protocol: Protocol | "both";
  key: string;
  /** What the app sees through postern, and through nginx: exact, UNSET or ANY. */
  postern: string;
  nginx: string;
  why: string;
}

// Accepted only in exactly this shape; any other difference fails, and an
// entry no request shows any more fails too, so the table cannot go stale.
const KNOWN_DIFFERENCES: KnownDifference[] = [
  { protocol: "both", key: "SCRIPT_NAME", postern: "", nginx: UNSET, why: "PEP 3333 requires SCRIPT_NAME (empty at the root) and wsgiref.validate refuses an environ without it; the stock params send none" },
  { protocol: "scgi", key: "PATH_INFO", postern: ANY, nginx: UNSET, why: "scgi_params sends no PATH_INFO (only DOCUMENT_URI), which a WSGI app routes on; postern sends it as RFC 3875 §4.1.5 and PEP 3333 say" },
  { protocol: "both", key: "GATEWAY_INTERFACE", postern: "CGI/1.1", nginx: UNSET, why: "RFC 3875 §4.1.4; the stock params send none" },
  { protocol: "both", key: "SERVER_ADDR", postern: ANY, nginx: UNSET, why: "postern sends the address the request came in on, as fastcgi_params does; uwsgi_params and scgi_params do not" },
  { protocol: "uwsgi", key: "DOCUMENT_URI", postern: ANY, nginx: UNSET, why: "DOCUMENT_URI is nginx's, in its fastcgi_params and scgi_params but not uwsgi_params; postern sends it to every gateway" },
  { protocol: "both", key: "DOCUMENT_ROOT", postern: UNSET, nginx: ANY, why: "nginx sends its server root, which names nothing for an app server; a uwsgi or SCGI route has no root" },
  { protocol: "both", key: "REDIRECT_STATUS", postern: "200", nginx: UNSET, why: "the CGI environment postern builds for every gateway sets it (php-cgi's cgi.force_redirect wants it)" },
  { protocol: "both", key: "SERVER_NAME", postern: "127.0.0.1", nginx: "", why: "nginx sends its configured server_name (none here); postern the host the client addressed (RFC 3875 §4.1.14)" },
  { protocol: "both", key: "CONTENT_TYPE", postern: UNSET, nginx: "", why: "the stock params always send $content_type; RFC 3875 §4.1.3: unset when the request has no body type" },
  { protocol: "uwsgi", key: "CONTENT_LENGTH", postern: UNSET, nginx: "", why: "uwsgi_params always sends $content_length; RFC 3875 §4.1.2: NULL or unset without a body" },
  { protocol: "both", key: "HTTP_CONTENT_TYPE", postern: UNSET, nginx: ANY, why: "nginx also passes every field as HTTP_*; PEP 3333 forbids these two (wsgiref.validate refuses them), RFC 3875 §4.1.18 need not repeat them" },
  { protocol: "both", key: "HTTP_CONTENT_LENGTH", postern: UNSET, nginx: ANY, why: "as HTTP_CONTENT_TYPE (RFC 3875 §4.1.18)" },
  { protocol: "both", key: "HTTP_TRANSFER_ENCODING", postern: UNSET, nginx: "chunked", why: "hop-by-hop (RFC 9110 §7.6.1): the body arrives de-chunked with its CONTENT_LENGTH" },
  { protocol: "both", key: "HTTP_X_DUP", postern: "1, 2", nginx: "2", why: "nginx < 1.23 sends each field line as its own variable and the last wins; RFC 9110 §5.3 joins them with \", \"" },
  { protocol: "both", key: "HTTP_COOKIE", postern: "a=1; b=two; c=3", nginx: "c=3", why: "the same nginx 1.22 behaviour for Cookie lines; RFC 6265 §5.4 joins them with \"; \"" },
  { protocol: "both", key: "HTTP_PROXY", postern: UNSET, nginx: ANY, why: "httpoxy, CVE-2016-5385: never sent" },
];

/** RFC 3875 §4.1 variables and nginx's usual extras compared, besides every HTTP_* one and wsgi.url_scheme. */
const KEYS = [
  "GATEWAY_INTERFACE", "SERVER_PROTOCOL", "REQUEST_METHOD", "QUERY_STRING", "REQUEST_URI", "DOCUMENT_URI", "SCRIPT_NAME", "PATH_INFO",
  "DOCUMENT_ROOT", "CONTENT_TYPE", "CONTENT_LENGTH", "REMOTE_ADDR", "SERVER_ADDR", "SERVER_NAME", "REQUEST_SCHEME", "HTTPS",
  "REDIRECT_STATUS", "SCGI", "wsgi.url_scheme",
];
// Not compared, they differ by nature: SERVER_PORT, REMOTE_PORT, SERVER_SOFTWARE, and HTTP_HOST's port.

interface Shape {
  name: string;
  method: string;
  target: string;
  headers?: [string, string][];
  body?: string;
  version?: "HTTP/1.0";
}

const FORM = "a=1&b=x+y&c=%26";

const SHAPES: Shape[] = [
  { name: "plain GET", method: "GET", target: "/env" },
  { name: "query string", method: "GET", target: "/env?a=1&b=two&e=" },
  { name: "empty query (a bare ?)", method: "GET", target: "/env?" },
  { name: "a deeper path", method: "GET", target: "/env/a/b" },
  { name: "percent-encoded path", method: "GET", target: "/env/a%20b/c%2Bd/" },
  { name: "UTF-8 path", method: "GET", target: "/env/caf%C3%A9" },
  { name: "POST form", method: "POST", target: "/env?q=1", headers: [["Content-Type", "application/x-www-form-urlencoded"], ["Content-Length", String(FORM.length)]], body: FORM },
  { name: "POST chunked", method: "POST", target: "/env", headers: [["Content-Type", "text/plain"], ["Transfer-Encoding", "chunked"]], body: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" },
  { name: "POST with Content-Length: 0", method: "POST", target: "/env", headers: [["Content-Length", "0"]], body: "" },
  { name: "Cookie", method: "GET", target: "/env", headers: [["Cookie", "a=1; b=two"]] },
  { name: "two Cookie lines", method: "GET", target: "/env", headers: [["Cookie", "a=1; b=two"], ["Cookie", "c=3"]] },
  { name: "two X-Dup lines", method: "GET", target: "/env", headers: [["X-Dup", "1"], ["X-Dup", "2"]] },
  { name: "Proxy header", method: "GET", target: "/env", headers: [["Proxy", "http://127.0.0.1:1"]] },
  { name: "Authorization header", method: "GET", target: "/env", headers: [["Authorization", "Basic dXNlcjpwYXNz"]] },
  { name: "HTTP/1.0 GET", method: "GET", target: "/env", version: "HTTP/1.0" },
];

type Seen = Record<string, string>;

async function seen(port: number, shape: Shape): Promise<Seen> {
  const headers: [string, string][] = [["Host", `127.0.0.1:${port}`], ["User-Agent", "postern-differential"], ["Connection", "close"], ...(shape.headers ?? [])];
  const response = await rawRequest(port, buildRequest(shape.method, shape.target, headers, shape.body, shape.version));
  const text = response.body.toString("utf8");
  let report: { environ: Record<string, string>; body_length: number; body_md5: string };
  try {
    report = JSON.parse(text);
  } catch {
    throw new Error(`status ${response.status}, not the environ: ${JSON.stringify(text.slice(0, 300))}`);
  }
  const out: Seen = { status: String(response.status), body: `${report.body_length} bytes, md5 ${report.body_md5}` };
  for (const [key, value] of Object.entries(report.environ)) {
    if (!KEYS.includes(key) && !key.startsWith("HTTP_")) continue;
    out[key] = key === "HTTP_HOST" ? value.replace(/:\d+$/, "") : value;
  }
  return out;
}

describe.skipIf(!UWSGI || !NGINX).each(["uwsgi", "scgi"] as const)("%s differential: postern and nginx in front of one uWSGI", (protocol) => {
  let uwsgi: ServerProcess | undefined;
  let nginx: ServerProcess | undefined;
  let postern: RunningPostern | undefined;
  const used = new Set<KnownDifference>();

  beforeAll(async () => {
    uwsgi = await startUwsgi(UWSGI!, { protocol, unvalidated: true });
    const pass = `127.0.0.1:${uwsgi.port}`;
    nginx = await startNginxServer({ server: `    location / {\n      include /etc/nginx/${protocol}_params;\n      ${protocol}_pass ${pass};\n    }\n` }, { binary: NGINX });
    postern = await startPostern(`[[routes]]\npath = "*"\ngateway = "${protocol}"\nbackend = "${pass}"\n`);
  }, 30_000);

  afterAll(async () => {
    await postern?.stop();
    await Promise.all([nginx?.stop(), uwsgi?.stop()]);
  });

  test.each(SHAPES)("$name", async (shape) => {
    const ours = await seen(Number(new URL(postern!.url).port), shape);
    const theirs = await seen(nginx!.port, shape);
    const [a, b] = withoutKnown(
      ours,
      theirs,
      (key, x, y) => KNOWN_DIFFERENCES.find((d) => (d.protocol === protocol || d.protocol === "both") && d.key === key && matches(d.postern, x) && matches(d.nginx, y)),
      used,
    );
    expect(a).toEqual(b);
  });

  test("every known difference still shows", () => {
    const stale = KNOWN_DIFFERENCES.filter((d) => (d.protocol === protocol || d.protocol === "both") && !used.has(d));
    expect(stale.map((d) => `${d.key}: entry still shows? no`)).toEqual([]);
  });
});
