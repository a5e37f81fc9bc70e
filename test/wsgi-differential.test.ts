// Differential test of WSGI hosting: the same app (test/fixtures/wsgi-apps/
// environ_dump.py, which reports its whole environ and the body it read) runs
// under postern and under Gunicorn 20.1, each gets the same request bytes,
// and the environ must be the same (PEP 3333 "environ Variables", RFC 3875
// §4.1). The accepted differences are all in KNOWN_DIFFERENCES, each with its
// reason: that table documents where postern departs from Gunicorn.
//
// Each server mounts the app twice: at the root and under /py (postern: a
// "/py/*" route; Gunicorn: a second instance with SCRIPT_NAME=/py in its
// environment, its way to mount). The /py mount runs the app under
// wsgiref.validate, so every request shape also passes the standard
// library's PEP 3333 checker on both servers. postern runs on each runtime's
// CLI (Node, Deno, Bun): each parses HTTP with its own server.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { ANY, matches, UNSET, withoutKnown } from "./helpers/known-differences.ts";
import type { CliRuntime } from "./helpers/postern-cli.ts";
import { startGunicorn, type PythonServer } from "./helpers/python-servers.ts";
import { buildRequest, parseResponse, rawRequest, type RawResponse } from "./helpers/raw-http.ts";
import { startWsgiPosternCli, type PosternCli } from "./helpers/wsgi-apps.ts";

const GUNICORN = requireBinary(["gunicorn"], "gunicorn");

/** The peer both servers believe X-Forwarded-* from (Gunicorn's default forwarded_allow_ips). */
const TRUSTED_PEER = "127.0.0.1";
/** Another loopback address: a client connecting from it is no trusted proxy. */
const UNTRUSTED_PEER = "127.0.0.2";

interface KnownDifference {
  /** An environ key, or "status" / "body". */
  key: string;
  /** What the app sees under postern, and under Gunicorn: exact, UNSET or ANY. */
  postern: string;
  gunicorn: string;
  why: string;
  /** The runtimes postern shows it on; default every one. */
  runtimes?: CliRuntime[];
}

const RUNTIMES: CliRuntime[] = ["node", "deno", "bun"];

// Accepted only in exactly this shape; any other difference fails. An entry
// that no request shows any more fails too, so the table cannot go stale.
const KNOWN_DIFFERENCES: KnownDifference[] = [
  { key: "SERVER_SOFTWARE", postern: ANY, gunicorn: "gunicorn/20.1.0", why: "each server names itself (PEP 3333 leaves it to the server, RFC 3875 §4.1.17)" },
  { key: "SERVER_PORT", postern: ANY, gunicorn: ANY, why: "each server listens on a port of its own" },
  { key: "REMOTE_PORT", postern: ANY, gunicorn: ANY, why: "the client's ephemeral port differs per connection" },
  { key: "gunicorn.socket", postern: UNSET, gunicorn: ANY, why: "Gunicorn hands the app its client socket; under postern the client's connection lives in postern, not in the worker" },
  { key: "RAW_URI", postern: UNSET, gunicorn: ANY, why: "Gunicorn's name for the request target as sent; postern gives it as REQUEST_URI (nginx's and uWSGI's name)" },
  { key: "REQUEST_URI", postern: ANY, gunicorn: UNSET, why: "the request target before normalisation, as nginx, lighttpd and uWSGI give it; Gunicorn has it as RAW_URI" },
  { key: "GATEWAY_INTERFACE", postern: "CGI/1.1", gunicorn: UNSET, why: "RFC 3875 §4.1.4 (uWSGI and mod_wsgi set it too); Gunicorn does not" },
  { key: "REQUEST_SCHEME", postern: ANY, gunicorn: UNSET, why: "nginx's and Apache's variable, shared by every postern gateway; the app's scheme is wsgi.url_scheme on both" },
  { key: "SERVER_ADDR", postern: "127.0.0.1", gunicorn: UNSET, why: "the address the connection came in on, as in every postern gateway; Gunicorn only gives SERVER_NAME" },
  { key: "DOCUMENT_URI", postern: ANY, gunicorn: UNSET, why: "nginx's variable (SCRIPT_NAME + PATH_INFO), shared by every postern gateway" },
  { key: "REDIRECT_STATUS", postern: "200", gunicorn: UNSET, why: "shared CGI environment (php-cgi needs it); meaningless but harmless to a WSGI app" },
  { key: "wsgi.input", postern: ANY, gunicorn: "instance of gunicorn.http.body.Body", why: "each server's own stream class (the /py mount shows wsgiref.validate's wrapper on both)" },
  { key: "wsgi.errors", postern: ANY, gunicorn: "instance of gunicorn.http.wsgi.WSGIErrorsWrapper", why: "as wsgi.input: postern's sends the lines to postern's log with the route and path" },
  { key: "wsgi.file_wrapper", postern: ANY, gunicorn: "class gunicorn.http.wsgi.FileWrapper", why: "each server ships its own file wrapper class (PEP 3333 \"Optional Platform-Specific File Handling\")" },
  {
    key: "CONTENT_LENGTH",
    postern: "11",
    gunicorn: UNSET,
    why: "a chunked body arrives de-chunked with its length (request buffering); Gunicorn streams it with no CONTENT_LENGTH and wsgi.input_terminated",
  },
  { key: "HTTP_TRANSFER_ENCODING", postern: UNSET, gunicorn: "chunked", why: "hop-by-hop (RFC 9110 §7.6.1): postern de-chunks the body and sends CONTENT_LENGTH, so \"chunked\" would mislead the app" },
  { key: "HTTP_X_DUP", postern: "1, 2", gunicorn: "1,2", why: "RFC 9110 §5.3 joins repeated field lines with \", \"; Gunicorn 20.1 with a bare \",\"" },
  { key: "HTTP_COOKIE", postern: "a=1; b=two; c=3", gunicorn: "a=1; b=two,c=3", why: "RFC 6265 §5.4 joins Cookie lines with \"; \"; Gunicorn 20.1 joins them with \",\", which cookie parsers read as part of a value" },
  { key: "HTTP_X_UNDERSCORE", postern: UNSET, gunicorn: "u", why: "after \"-\"->\"_\" X_Forwarded_For would pose as X-Forwarded-For (DESIGN.md security default; Gunicorn 22 drops them too)" },
  { key: "HTTP_SCRIPT_NAME", postern: UNSET, gunicorn: "/mounted", why: "a header name with \"_\" is dropped, as above" },
  {
    key: "SCRIPT_NAME",
    postern: "",
    gunicorn: "/mounted",
    why: "Gunicorn 20.1 takes SCRIPT_NAME from a request header of ANY client, which moves the app's URLs; postern's mount is the route's path only",
  },
  { key: "PATH_INFO", postern: "/mounted/env", gunicorn: "/env", why: "follows from SCRIPT_NAME above" },
  { key: "HTTP_PROXY", postern: UNSET, gunicorn: "http://127.0.0.1:1", why: "httpoxy, CVE-2016-5385: an app's HTTP client would read HTTP_PROXY as its proxy" },
  {
    key: "SERVER_PROTOCOL",
    postern: "HTTP/1.1",
    gunicorn: "HTTP/1.0",
    why: "Deno.serve and Bun.serve do not tell a handler the request's HTTP version, so postern gives HTTP/1.1 for an HTTP/1.0 request there",
    runtimes: ["deno", "bun"],
  },
  { key: "HTTPS", postern: "on", gunicorn: UNSET, why: "CGI's HTTPS (as nginx and Apache set it) follows the scheme a trusted proxy names, like wsgi.url_scheme, which is https on both" },
  {
    key: "REMOTE_ADDR",
    postern: "203.0.113.7",
    gunicorn: TRUSTED_PEER,
    why: "postern believes X-Forwarded-For from trusted_proxies; Gunicorn never rewrites REMOTE_ADDR (forwarded_allow_ips only sets wsgi.url_scheme)",
  },
];

interface Shape {
  name: string;
  method: string;
  /** The request target; "/py/..." reaches the mounted app, anything else the root one. */
  target: string;
  /** Field lines after Host and Connection, in order, repeats kept. */
  headers?: [string, string][];
  body?: string | Uint8Array;
  version?: "HTTP/1.0";
  /** The client's source address. Default TRUSTED_PEER. */
  from?: string;
}

const FORM = "name=Zo%C3%AB&msg=a+b&amp=%26";
const MIB = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7919) & 0xff);
const FORWARDED: [string, string][] = [["X-Forwarded-For", "203.0.113.7"], ["X-Forwarded-Proto", "https"]];

const SHAPES: Shape[] = [
  { name: "GET at the root mount", method: "GET", target: "/env" },
  { name: "GET under the /py mount", method: "GET", target: "/py/env" },
  { name: "the mount point itself with a slash", method: "GET", target: "/py/" },
  { name: "query string", method: "GET", target: "/py/env?a=1&b=two%20three&c=%26&d=+" },
  { name: "empty query (a bare ?)", method: "GET", target: "/py/env?" },
  { name: "percent-encoded path", method: "GET", target: "/py/a%20b/c%2Bd/" },
  { name: "UTF-8 path percent-encoded: /caf%C3%A9", method: "GET", target: "/py/caf%C3%A9" },
  { name: "UTF-8 path percent-encoded at the root mount", method: "GET", target: "/caf%C3%A9/%E2%9C%93" },
  { name: "HEAD", method: "HEAD", target: "/py/env?x=1" },
  { name: "DELETE", method: "DELETE", target: "/py/item/7" },
  { name: "OPTIONS", method: "OPTIONS", target: "/py/env" },
  {
    name: "POST form with Content-Type and Content-Length",
    method: "POST",
    target: "/py/form?q=1",
    headers: [["Content-Type", "application/x-www-form-urlencoded"], ["Content-Length", String(FORM.length)]],
    body: FORM,
  },
  {
    name: "PUT of 1 MiB",
    method: "PUT",
    target: "/py/blob",
    headers: [["Content-Type", "application/octet-stream"], ["Content-Length", String(MIB.length)]],
    body: MIB,
  },
  {
    name: "PATCH with a chunked body",
    method: "PATCH",
    target: "/py/env",
    headers: [["Content-Type", "text/plain"], ["Transfer-Encoding", "chunked"]],
    body: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
  },
  {
    name: "POST with Expect: 100-continue",
    method: "POST",
    target: "/py/env",
    headers: [["Content-Type", "text/plain"], ["Content-Length", "5"], ["Expect", "100-continue"]],
    body: "hello",
  },
  { name: "POST with Content-Length: 0", method: "POST", target: "/py/env", headers: [["Content-Length", "0"]], body: "" },
  { name: "Cookie", method: "GET", target: "/py/env", headers: [["Cookie", "a=1; b=two"]] },
  { name: "two Cookie lines", method: "GET", target: "/py/env", headers: [["Cookie", "a=1; b=two"], ["Cookie", "c=3"]] },
  { name: "two X-Dup lines", method: "GET", target: "/py/env", headers: [["X-Dup", "1"], ["X-Dup", "2"]] },
  { name: "X_Underscore header", method: "GET", target: "/py/env", headers: [["X_Underscore", "u"]] },
  { name: "SCRIPT_NAME header at the root mount", method: "GET", target: "/mounted/env", headers: [["SCRIPT_NAME", "/mounted"]] },
  { name: "Proxy header", method: "GET", target: "/py/env", headers: [["Proxy", "http://127.0.0.1:1"]] },
  { name: "Authorization header", method: "GET", target: "/py/env", headers: [["Authorization", "Basic dXNlcjpwYXNz"]] },
  { name: "X-Forwarded-For and -Proto from a trusted peer", method: "GET", target: "/py/env", headers: FORWARDED },
  { name: "X-Forwarded-For and -Proto from an untrusted peer", method: "GET", target: "/py/env", headers: FORWARDED, from: UNTRUSTED_PEER },
  { name: "HTTP/1.0 GET", method: "GET", target: "/py/env", version: "HTTP/1.0" },
];

/** What the app saw, flattened to one map of strings; absent keys are absent. */
type Seen = Record<string, string>;

/**
 * Sends the shape's bytes from its source address and reads the answer until
 * the server closes; an interim 100 Continue (RFC 9110 §15.2.1, both servers
 * send one for Expect: 100-continue) is skipped.
 */
async function send(port: number, shape: Shape): Promise<RawResponse> {
  const headers: [string, string][] = [["Host", "127.0.0.1"], ["User-Agent", "postern-differential"], ["Connection", "close"], ...(shape.headers ?? [])];
  const answer = await rawRequest(port, buildRequest(shape.method, shape.target, headers, shape.body, shape.version), 30_000, shape.from ?? TRUSTED_PEER);
  return answer.status === 100 ? parseResponse(answer.body) : answer;
}

function seen(response: RawResponse): Seen {
  const header = response.headers.find(([name]) => name === "x-environ")?.[1];
  const text = header === undefined ? response.body.toString("utf8") : Buffer.from(header, "base64").toString("utf8");
  let report: { environ: Record<string, string>; body_length: number; body_md5: string };
  try {
    report = JSON.parse(text);
  } catch {
    throw new Error(`status ${response.status}, not the environ report: ${JSON.stringify(text.slice(0, 500))}`);
  }
  return { status: String(response.status), ...report.environ, body: `${report.body_length} bytes, md5 ${report.body_md5}` };
}

const appliesTo = (d: KnownDifference, runtime: CliRuntime) => (d.runtimes ?? RUNTIMES).includes(runtime);

/** The KNOWN_DIFFERENCES entry of `runtime` accounting for a key's two values. */
function knownDifference(runtime: CliRuntime, key: string, ours: string | undefined, theirs: string | undefined): KnownDifference | undefined {
  return KNOWN_DIFFERENCES.find((d) => appliesTo(d, runtime) && d.key === key && matches(d.postern, ours) && matches(d.gunicorn, theirs));
}

describe.skipIf(!GUNICORN)("WSGI differential: the environ an app sees under postern and under Gunicorn", () => {
  let atRoot: PythonServer | undefined;
  let atPy: PythonServer | undefined;

  beforeAll(async () => {
    [atRoot, atPy] = await Promise.all([
      startGunicorn(GUNICORN!, { app: "environ_dump:app" }),
      startGunicorn(GUNICORN!, { app: "environ_dump:validated", env: { SCRIPT_NAME: "/py" } }),
    ]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([atRoot?.stop(), atPy?.stop()]);
  });

  describe.each(RUNTIMES)("postern on %s", (runtime) => {
    let postern: PosternCli | undefined;
    const used = new Set<KnownDifference>();

    beforeAll(async () => {
      postern = await startWsgiPosternCli(
        runtime,
        [
          { path: "/py/*", app: "environ_dump:validated" },
          { path: "*", app: "environ_dump:app" },
        ],
        `trusted_proxies = [${JSON.stringify(TRUSTED_PEER)}]`,
      );
    }, 60_000);

    afterAll(async () => {
      await postern?.stop();
    });

    for (const shape of SHAPES) {
      test(shape.name, async () => {
        const gunicorn = shape.target.startsWith("/py/") ? atPy! : atRoot!;
        const ours = seen(await send(postern!.port, shape));
        const theirs = seen(await send(gunicorn.port, shape));
        const [a, b] = withoutKnown(ours, theirs, (key, x, y) => knownDifference(runtime, key, x, y), used);
        expect(a, `the environ under postern (received) and under Gunicorn (expected); postern's log: ${postern!.log()}`).toEqual(b);
      });
    }

    // Not a difference in the environ but in what is accepted. RFC 3986 §2 and
    // RFC 9112 §3.2 allow only ASCII in a request target: Node's parser
    // answers 400; Deno's and Bun's servers take the bytes C3 A9 as if they
    // were "%C3%A9", so the app sees "/cafÃ©" as for the encoded form.
    // Gunicorn 20.1 takes them too but decodes them twice: "/cafÃ\x83Â©".
    test("a UTF-8 path sent unencoded: Gunicorn decodes it twice", async () => {
      const shape: Shape = { name: "raw UTF-8", method: "GET", target: "/py/caf\u00c3\u00a9" };
      const ours = await send(postern!.port, shape);
      if (runtime === "node") expect(ours.status).toBe(400);
      else expect(seen(ours).PATH_INFO).toBe("/caf\u00c3\u00a9");
      expect(seen(await send(atPy!.port, shape)).PATH_INFO).toBe("/caf\u00c3\u0083\u00c2\u00a9");
    });

    test(`every entry of KNOWN_DIFFERENCES for ${runtime} still shows`, () => {
      expect(KNOWN_DIFFERENCES.filter((d) => appliesTo(d, runtime) && !used.has(d))).toEqual([]);
    });
  });
});
