// Differential test of the CGI gateway (RFC 3875): postern and lighttpd's
// mod_cgi serve the SAME script tree, each gets the same request bytes, and
// what the env-dump script saw (its meta-variables, §4.1 and the usual
// extras, its argv and current directory, the length and MD5 of its stdin)
// must be the same. The differences that are accepted are all in
// KNOWN_DIFFERENCES, each with its reason: that table is the documentation of
// where postern's CGI departs from lighttpd's.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { makeCgiTree, parseEnvReport, type CgiTree } from "./helpers/cgi-fixtures.ts";
import { ANY, matches, UNSET, withoutKnown as withoutKnownKeys } from "./helpers/known-differences.ts";
import { startLighttpd, type Lighttpd } from "./helpers/lighttpd.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { buildRequest, rawRequest, type RawResponse } from "./helpers/raw-http.ts";

const LIGHTTPD = requireBinary(["lighttpd"], "lighttpd");
const PERL = requireBinary(["perl"], "perl");

/** The two configurations compared: plain, and "only files with an execute bit run". */
type Setup = "default" | "x-only";

/**
 * What kind of answer a request got, with its status (the "outcome" key):
 * the env report of the script, a file's own text, or neither (an error page,
 * a redirect of the server's own).
 */
const REPORT = "env report";
const SOURCE = "file contents";
const NO_SCRIPT = "no script output";

interface KnownDifference {
  /** The setup it shows in; both when absent. */
  setup?: Setup;
  /** An environment variable, "outcome", "argv", "cwd" or "body". */
  key: string;
  /** What the script sees through postern, and through lighttpd: exact, UNSET or ANY. */
  postern: string;
  lighttpd: string;
  why: string;
}

// Accepted only in exactly this shape (value through postern, value through
// lighttpd); any other difference fails. An entry that no request shows any
// more fails too ("... entry still shows"), so the table cannot go stale.
// A known difference of "outcome" accounts for the whole answer: when one
// server ran the script and the other did not, nothing else can be compared.
const KNOWN_DIFFERENCES: KnownDifference[] = [
  { key: "CONTENT_LENGTH", postern: UNSET, lighttpd: "0", why: "lighttpd sends 0 for a request without a body; RFC 3875 §4.1.2: NULL or unset when there is no body" },
  { key: "HTTP_CONTENT_LENGTH", postern: UNSET, lighttpd: ANY, why: "RFC 3875 §4.1.18: fields given as CONTENT_LENGTH need not be repeated as HTTP_*" },
  { key: "DOCUMENT_URI", postern: ANY, lighttpd: UNSET, why: "DOCUMENT_URI is nginx's (fastcgi.conf), not RFC 3875's; postern gives it to every gateway's backends, lighttpd has no such variable" },
  { key: "PATH", postern: ANY, lighttpd: UNSET, why: "pass_env defaults to [\"PATH\"] so scripts find their programs; lighttpd's mod_cgi passes nothing of its own environment" },
  { key: "HTTP_X_UNDERSCORE", postern: UNSET, lighttpd: "u", why: "DESIGN.md security default, as nginx's underscores_in_headers off: after \"-\"->\"_\" X_Forwarded_For would pose as X-Forwarded-For" },
  { key: "HTTP_X_DOTTED", postern: UNSET, lighttpd: "d", why: "RFC 3875 §4.1.18 names are letters, digits and \"_\"; a field name with \".\" has no faithful mapping and is dropped (lighttpd maps it to \"_\", colliding with X-Dotted/X_Dotted)" },
  { key: "HTTP_X_EMPTY", postern: "", lighttpd: UNSET, why: "lighttpd drops fields with an empty value; an empty field is still a field (RFC 9110 §5.5), postern passes it" },
  { key: "REDIRECT_URI", postern: UNSET, lighttpd: ANY, why: "lighttpd adds REDIRECT_URI when it normalized the path (dot segments, %2F); not an RFC 3875 variable" },
  { setup: "default", key: "outcome", postern: `404 ${NO_SCRIPT}`, lighttpd: `200 ${REPORT}`, why: "DESIGN.md security default: an encoded slash (%2F) in the path is refused with 404 (as Apache's AllowEncodedSlashes Off); lighttpd decodes it into PATH_INFO" },
  { setup: "default", key: "outcome", postern: `403 ${NO_SCRIPT}`, lighttpd: `500 ${NO_SCRIPT}`, why: "a file with no execute bit and no interpreter may not run: postern refuses it (403) before starting anything; lighttpd tries to exec it and fails (500, \"Permission denied\" in its log)" },
  { setup: "default", key: "outcome", postern: `400 ${NO_SCRIPT}`, lighttpd: `200 ${REPORT}`, why: "RFC 9112 §3.2: a request-target is ASCII; postern's Node server refuses raw bytes above 0x7f in it with 400 (its HTTP parser), lighttpd accepts them" },
  { setup: "x-only", key: "outcome", postern: `403 ${NO_SCRIPT}`, lighttpd: `200 ${SOURCE}`, why: "with cgi.execute-x-only lighttpd serves a file without an execute bit as a static file, its source included; postern's executable_only refuses it (403) and never serves a script's text" },
];

/** Not compared, they differ by nature (each server has its own name and port); HTTP_HOST is compared without its port. */
const IGNORED = ["SERVER_SOFTWARE", "SERVER_PORT", "REMOTE_PORT"];

interface Shape {
  name: string;
  method: string;
  target: string;
  /** Field lines after Host, User-Agent and Connection, in order, repeats kept. */
  headers?: [string, string][];
  body?: string;
  version?: "HTTP/1.0";
}

const FORM = "a=1&b=x+y&c=%26&d=%20";
// "café" as UTF-8 bytes on the wire: buildRequest writes the head as latin1.
const CAFE_UTF8_BYTES = Buffer.from("café", "utf8").toString("latin1");

const SHAPES: Shape[] = [
  { name: "plain GET", method: "GET", target: "/env.pl" },
  { name: "query string", method: "GET", target: "/env.pl?a=1&b=two" },
  { name: "query string with %20, + and an encoded &", method: "GET", target: "/env.pl?q=hello%20world&p=a+b&amp=x%26y&e=" },
  { name: "empty query (a bare ?)", method: "GET", target: "/env.pl?" },
  { name: "PATH_INFO", method: "GET", target: "/env.pl/a/b" },
  { name: "PATH_INFO and a query", method: "GET", target: "/env.pl/a/b?x=1" },
  { name: "PATH_INFO of a slash alone", method: "GET", target: "/env.pl/" },
  { name: "percent-encoded PATH_INFO", method: "GET", target: "/env.pl/a%20b/c%2Bd/" },
  { name: "UTF-8 PATH_INFO", method: "GET", target: "/env.pl/caf%C3%A9/%E2%9C%93" },
  { name: "an encoded slash in PATH_INFO", method: "GET", target: "/env.pl/a%2Fb" },
  { name: "raw UTF-8 bytes in the request-target", method: "GET", target: `/env.pl/${CAFE_UTF8_BYTES}` },
  { name: "a dot segment in the path", method: "GET", target: "/sub/../env.pl?a" },
  { name: "an executable running itself (shebang)", method: "GET", target: "/env.cgi?via=shebang" },
  { name: "a script in a subdirectory", method: "GET", target: "/sub/env.pl/more?x=y" },
  { name: "a script without execute bit, run by its interpreter", method: "GET", target: "/noexec.pl" },
  {
    name: "POST form with Content-Type and Content-Length",
    method: "POST",
    target: "/env.pl?q=1",
    headers: [["Content-Type", "application/x-www-form-urlencoded"], ["Content-Length", String(FORM.length)]],
    body: FORM,
  },
  {
    name: "POST with a chunked body",
    method: "POST",
    target: "/env.pl",
    headers: [["Content-Type", "text/plain"], ["Transfer-Encoding", "chunked"]],
    body: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
  },
  { name: "POST with Content-Length: 0", method: "POST", target: "/env.pl", headers: [["Content-Length", "0"]], body: "" },
  { name: "PUT with a body to a script with PATH_INFO", method: "PUT", target: "/env.cgi/file.txt", headers: [["Content-Type", "application/octet-stream"], ["Content-Length", "3"]], body: "abc" },
  // A HEAD answer has no body: env.pl reports in its X-Env header field too.
  { name: "HEAD", method: "HEAD", target: "/sub/env.pl?x=1" },
  { name: "HTTP/1.0 GET", method: "GET", target: "/env.pl", version: "HTTP/1.0" },
  { name: "Cookie", method: "GET", target: "/env.pl", headers: [["Cookie", "a=1; b=two"]] },
  { name: "two Cookie lines", method: "GET", target: "/env.pl", headers: [["Cookie", "a=1; b=two"], ["Cookie", "c=3"]] },
  { name: "two X-Dup lines and two Accept lines", method: "GET", target: "/env.pl", headers: [["X-Dup", "1"], ["X-Dup", "2"], ["Accept", "text/html"], ["Accept", "*/*;q=0.1"]] },
  { name: "X_Underscore header", method: "GET", target: "/env.pl", headers: [["X_Underscore", "u"]] },
  {
    name: "odd header fields: empty, dotted, long, Content-Type without a body",
    method: "GET",
    target: "/env.pl",
    headers: [["X-Empty", ""], ["X.Dotted", "d"], ["X-Long", "v".repeat(4000)], ["Content-Type", "text/x-no-body"], ["x-lower-CASE", "Mixed Value"]],
  },
  { name: "a header value with UTF-8 bytes", method: "GET", target: "/env.pl", headers: [["X-Name", CAFE_UTF8_BYTES]] },
  { name: "Proxy header (httpoxy)", method: "GET", target: "/env.pl", headers: [["Proxy", "http://127.0.0.1:1"]] },
  { name: "Authorization header", method: "GET", target: "/env.pl", headers: [["Authorization", "Basic dXNlcjpwYXNz"]] },
  // startLighttpd sets no index-file.names, so postern runs without `index`
  // too: both answer a directory without an index script. Index scripts are
  // tested in cgi-real.test.ts.
  { name: "a directory (no index script configured)", method: "GET", target: "/sub/" },
  { name: "a directory without its slash", method: "GET", target: "/sub" },
  { name: "a missing script", method: "GET", target: "/missing.pl" },
  { name: "a missing script in a missing directory", method: "GET", target: "/nodir/missing.pl/x" },
  { name: "a file without execute bit and without interpreter", method: "GET", target: "/noexec.cgi" },
  { name: "a text file", method: "GET", target: "/source.txt" },
  { name: "encoded dot segments", method: "GET", target: "/sub/%2e%2e/env.pl" },
];

/** The shapes of the "x-only" setup (cgi.execute-x-only / executable_only). */
const X_ONLY_SHAPES: Shape[] = [
  { name: "an executable script with an interpreter", method: "GET", target: "/env.pl?x=1" },
  { name: "an executable running itself", method: "GET", target: "/env.cgi" },
  { name: "a script with an interpreter but without execute bit", method: "GET", target: "/noexec.pl" },
  { name: "a file without execute bit and without interpreter", method: "GET", target: "/noexec.cgi" },
  { name: "a text file", method: "GET", target: "/source.txt" },
];

/** What the script saw, flattened to one map of strings; absent keys are absent. */
type Seen = Record<string, string>;

async function send(port: number, shape: Shape): Promise<RawResponse> {
  const headers: [string, string][] = [
    ["Host", `127.0.0.1:${port}`],
    ["User-Agent", "postern-cgi-differential"],
    ["Connection", "close"],
    ...(shape.headers ?? []),
  ];
  return rawRequest(port, buildRequest(shape.method, shape.target, headers, shape.body, shape.version), 20_000);
}

function seen(response: RawResponse, shape: Shape): Seen {
  const text =
    shape.method === "HEAD"
      ? Buffer.from(response.headers.find(([name]) => name === "x-env")?.[1] ?? "", "base64").toString("latin1")
      : response.body.toString("latin1");
  if (!text.startsWith("{")) {
    const kind = text.includes("SOURCE-MARKER") || text.startsWith("#!") ? SOURCE : NO_SCRIPT;
    return { outcome: `${response.status} ${kind}` };
  }
  const report = parseEnvReport(text, true);
  const out: Seen = {
    outcome: `${response.status} ${REPORT}`,
    argv: JSON.stringify(report.argv),
    cwd: report.cwd,
    body: `${report.body_length} bytes, md5 ${report.body_md5}`,
  };
  for (const [key, value] of Object.entries(report.env)) {
    if (IGNORED.includes(key)) continue;
    out[key] = key === "HTTP_HOST" ? value.replace(/:\d+$/, "") : value;
  }
  return out;
}

function knownDifference(setup: Setup, key: string, ours: string | undefined, theirs: string | undefined): KnownDifference | undefined {
  return KNOWN_DIFFERENCES.find((d) => (d.setup ?? setup) === setup && d.key === key && matches(d.postern, ours) && matches(d.lighttpd, theirs));
}

/**
 * Removes from both maps each key whose difference is a KNOWN_DIFFERENCES
 * entry, and records the entries used. A known difference of the outcome
 * accounts for the whole answer.
 */
function withoutKnown(setup: Setup, ours: Seen, theirs: Seen, used: Set<KnownDifference>): [Seen, Seen] {
  if (ours.outcome !== theirs.outcome) {
    const known = knownDifference(setup, "outcome", ours.outcome, theirs.outcome);
    if (!known) return [ours, theirs];
    used.add(known);
    return [{}, {}];
  }
  return withoutKnownKeys(ours, theirs, (key, a, b) => knownDifference(setup, key, a, b), used);
}

describe.skipIf(!LIGHTTPD || !PERL)("CGI differential: postern and lighttpd mod_cgi run the same scripts", () => {
  let tree: CgiTree;
  const used = new Set<KnownDifference>();

  beforeAll(() => {
    tree = makeCgiTree([
      { path: "www/env.pl", fixture: "env.pl", mode: 0o755 },
      { path: "www/env.cgi", fixture: "env.pl", mode: 0o755 },
      { path: "www/sub/env.pl", fixture: "env.pl", mode: 0o755 },
      { path: "www/noexec.pl", fixture: "env.pl", mode: 0o644 },
      { path: "www/noexec.cgi", fixture: "ran.sh", mode: 0o644 },
      { path: "www/source.txt", fixture: "source.txt", mode: 0o644 },
    ]);
  });

  afterAll(() => {
    tree?.remove();
  });

  const setups: { setup: Setup; shapes: Shape[]; xOnly: boolean }[] = [
    { setup: "default", shapes: SHAPES, xOnly: false },
    { setup: "x-only", shapes: X_ONLY_SHAPES, xOnly: true },
  ];

  for (const { setup, shapes, xOnly } of setups) {
    describe(`${setup}: cgi.execute-x-only ${xOnly ? "enabled" : "disabled"}, executable_only = ${xOnly}`, () => {
      let lighttpd: Lighttpd | undefined;
      let postern: RunningPostern | undefined;
      let posternPort = 0;

      beforeAll(async () => {
        // The same mapping on both sides: .pl through Perl, every other file runs itself.
        lighttpd = await startLighttpd({ root: tree.root, binary: LIGHTTPD, cgi: { assign: { ".pl": PERL!, "": "" }, executeXOnly: xOnly } });
        postern = await startPostern(`
[[routes]]
path = "/*"
gateway = "cgi"
root = "${tree.root}"
interpreters = { ".pl" = "${PERL}" }
executable_only = ${xOnly}
`);
        posternPort = Number(new URL(postern.url).port);
      });

      afterAll(async () => {
        await postern?.stop();
        await lighttpd?.stop();
      });

      for (const shape of shapes) {
        test(shape.name, async () => {
          const ours = seen(await send(posternPort, shape), shape);
          const theirs = seen(await send(lighttpd!.port, shape), shape);
          const [a, b] = withoutKnown(setup, ours, theirs, used);
          expect(a, `what the script saw through postern (received) and through lighttpd (expected)`).toEqual(b);
        });
      }

      test("no script was started for a refused request", () => {
        // ran.sh (as noexec.cgi) leaves a marker if anything ever runs it.
        expect(tree.ranMarkers()).toEqual([]);
      });
    });
  }

  // Runs after both setups (tests run in the order they are declared).
  test("every entry of KNOWN_DIFFERENCES still shows", () => {
    const stale = KNOWN_DIFFERENCES.filter((d) => !used.has(d));
    expect(stale).toEqual([]);
  });
});
