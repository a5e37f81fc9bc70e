// Gunicorn's HTTP/1.x parser corpus (shared/corpus/http-requests, read in
// place) against postern's Node server: every invalid request gets a clear
// 4xx/5xx with Connection: close and the gateway keeps serving; every valid
// request reaches the app with its method, target, fields and body intact.
// Where postern answers differently from Gunicorn, the tables below say why.

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reasonPhrase } from "../src/http/error-page.ts";
import { checkRequestHead, checkTrailers, type RequestHead } from "../src/http/request-head.ts";
import { normalizePath } from "../src/paths.ts";
import { freePort } from "./helpers/ports.ts";
import { exchange, type Answer, type Exchange } from "./helpers/raw-exchange.ts";
import { rawRequest } from "./helpers/raw-http.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

/** shared/corpus beside the checkout, or beside a directory holding it (a git worktree). */
const CORPUS = ((): string => {
  const file = "shared/corpus/http-requests/cases.json";
  for (let dir = join(import.meta.dirname, "../.."); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, file))) return join(dir, file);
  }
  return join(import.meta.dirname, "../..", file);
})();

interface Case {
  name: string;
  kind: "valid" | "invalid";
  expect_status: number | null;
  gunicorn_exception: string | null;
  needs_gunicorn_cfg: boolean;
  raw_b64: string;
}

/** Cases not run, and why. */
function skipReason(c: Case): string | undefined {
  if (c.name.includes("/pp_")) return "PROXY protocol: postern's listener speaks plain HTTP only";
  if (c.needs_gunicorn_cfg) return "only meaningful under a non-default Gunicorn setting (advisory)";
  return undefined;
}

// ---- Where postern answers an invalid request differently from Gunicorn ----

const INVALID_DEVIATIONS: Record<string, { status: number; why: string }> = {
  "invalid/006": {
    status: 414,
    why: "a 4112-byte request line is over max_request_line (4094, Gunicorn's limit_request_line): RFC 9112 §3 says 414 URI Too Long, where Gunicorn answers 400",
  },
};

// ---- Where postern answers a valid request differently from Gunicorn ----

/** RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host; Gunicorn accepts them. Each is also sent with a Host line added, and must then pass intact. */
const NO_HOST = new Set([
  "valid/004", "valid/005", "valid/006", "valid/007", "valid/010", "valid/011", "valid/012", "valid/014",
  "valid/018", "valid/021", "valid/023", "valid/100",
]);

const CODED = "a transfer coding under chunked, which postern does not decode (RFC 9112 §6.1; lighttpd answers 501 too): the backend would get the body still coded";

const VALID_DEVIATIONS: Record<string, { status: number; why: string }> = {
  "valid/009": { status: 400, why: "Transfer-Encoding (identity) with Content-Length: RFC 9112 §6.1 lets a server reject it, and a gateway must (request smuggling); Node's parser refuses it too" },
  "valid/013": { status: 400, why: "whitespace around ';' in chunk extensions (RFC 9112 §7.1.1 BWS): Node's parser refuses it, and there is no lenient switch short of insecureHTTPParser (and no Host either)" },
  "valid/025": { status: 400, why: `no Host (RFC 9112 §3.2); with one, 501: ${CODED}` },
  "valid/025_line": { status: 400, why: `no Host (RFC 9112 §3.2); with one, 501: ${CODED}` },
  "valid/029": { status: 400, why: `no Host (RFC 9112 §3.2); with one, 501: ${CODED}` },
  "valid/030": { status: 400, why: `no Host (RFC 9112 §3.2); with one, 501: ${CODED}` },
  "valid/rfc9112_smuggle_gzip_chunked_01": { status: 501, why: CODED },
  "valid/rfc9112_smuggle_te_identity_chunked_01": { status: 501, why: `${CODED} (identity left the registry with RFC 7230)` },
  "valid/027": { status: 400, why: "raw non-ASCII bytes in the request-target are not a URI (RFC 9112 §3.2, RFC 3986 §2); Node's parser refuses them" },
  "valid/031": { status: 400, why: "method -BLARGH: Node's parser accepts only the methods it knows (and no Host either)" },
  "valid/099": { status: 400, why: "the corpus request is cut short (Content-Length 17914, 8846 body bytes): at the client's end of input the body is incomplete (Gunicorn's test only parses what is there)" },
  "valid/rfc9112_target_absolute_userinfo_01": { status: 400, why: "userinfo in the target: RFC 9110 §4.2.4 says to treat it as an error, and a Fetch Request cannot carry it" },
  "valid/rfc9112_target_authority_connect_01": { status: 501, why: "CONNECT (RFC 9110 §9.3.6) opens a tunnel; postern is not a forward proxy" },
  "valid/rfc9112_target_authority_ipv6_01": { status: 501, why: "CONNECT (RFC 9110 §9.3.6) opens a tunnel; postern is not a forward proxy" },
};

/** RFC 9110 §9.3.7: OPTIONS * is about the server; no Request URL can name it, so postern answers it itself (200, empty). */
const ANSWERED_BY_POSTERN = new Set(["valid/rfc9112_target_asterisk_options_01"]);

/** GET with a body (RFC 9110 §9.3.1: no defined semantics): the body is read, so framing holds, but a Fetch Request cannot carry it; the app sees none. */
const GET_BODY_DROPPED = new Set(["valid/008", "valid/020", "valid/029", "valid/030", "valid/040", "valid/rfc9110_body_framing_get_cl_nonzero_01"]);

// ---- The expected request, read from the raw bytes ----

interface Expected {
  method: string;
  target: string;
  headers: [string, string][];
  body: Buffer;
}

const trimOWS = (s: string) => s.replace(/^[ \t]+|[ \t]+$/g, "");

/** The first request in `raw`: its line, its fields (combined as Fetch Headers combine them) and its body without chunked coding. */
function expectedRequest(raw: Buffer): Expected {
  const headEnd = raw.indexOf("\r\n\r\n");
  const [line, ...fieldLines] = raw.subarray(0, headEnd).toString("latin1").split("\r\n");
  const [method, target] = line!.split(" ") as [string, string];
  const fields = new Map<string, string[]>();
  for (const field of fieldLines) {
    const colon = field.indexOf(":");
    const name = field.slice(0, colon).toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), trimOWS(field.slice(colon + 1))]);
  }
  const url = target.startsWith("/") ? new URL(`http://h${target}`) : new URL(target);
  const rest = raw.subarray(headEnd + 4);
  const codings = (fields.get("transfer-encoding") ?? []).join(",").split(",").map((s) => trimOWS(s).toLowerCase());
  let body: Buffer;
  if (codings.at(-1) === "chunked") body = dechunk(rest);
  else if (fields.has("content-length")) body = rest.subarray(0, Number(fields.get("content-length")![0]));
  else body = Buffer.alloc(0);
  return {
    method,
    // The app sees the normal path (src/paths.ts, nginx's merge_slashes): valid/100's "///keeping_slashes" is "/keeping_slashes".
    target: normalizePath(url.pathname) + url.search,
    headers: [...fields].map(([n, v]): [string, string] => [n, v.join(", ")]).sort(byName),
    body,
  };
}

function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; ; ) {
    const lineEnd = bytes.indexOf("\r\n", at);
    const size = parseInt(bytes.subarray(at, lineEnd).toString("latin1"), 16); // extensions after ';' end the number
    if (size === 0) return Buffer.concat(parts);
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

const byName = (a: [string, string], b: [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** The raw request with `Host: example.com` after its request line. */
function withHost(raw: Buffer): Buffer {
  const lineEnd = raw.indexOf("\r\n") + 2;
  return Buffer.concat([raw.subarray(0, lineEnd), Buffer.from("Host: example.com\r\n"), raw.subarray(lineEnd)]);
}

// ---- The servers under test ----

type RuntimeName = "node" | "deno" | "bun";

const ROOT = join(import.meta.dirname, "..");
const ECHO_SERVER = join(import.meta.dirname, "helpers/echo-server.ts");
const COMMANDS: Record<RuntimeName, string[]> = {
  node: [process.execPath, "--import", join(ROOT, "runtimes/node/register.mjs")],
  deno: [join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--conditions=postern-source"],
  bun: [join(ROOT, "node_modules/.bin/bun"), "--conditions=postern-source"],
};

/**
 * Where Deno's or Bun's server answers a case differently from postern on
 * Node and postern cannot change it: the server parsed the bytes before
 * postern saw a Request, and the Request no longer shows what was wrong. What
 * the runtime does instead (summary() of the exchange) and why. Each is
 * checked: when a runtime starts to behave, its line fails and goes.
 */
const DENO_TRAILERS = "Deno's Request has no trailer section: a framing field there is dropped unseen";
const DENO_CHUNKS = "Deno's parser refuses the chunk line and closes without an answer";
const DENO_VERSION = "Deno's Request does not say the HTTP version: an HTTP/1.1 request without Host passes as HTTP/1.0";
const BUN_TRAILERS = "Bun serves the request and reads the trailer section as a next request, which it refuses";

const KNOWN_DIFFERENCES: Record<RuntimeName, Record<string, { observed: string; why: string }>> = {
  node: {},
  deno: {
    "invalid/001": { observed: "no answer; closed", why: "Deno closes on a header section cut short without an answer" },
    "invalid/chunked_01": { observed: "no answer; closed", why: DENO_CHUNKS },
    "invalid/chunked_11": { observed: "no answer; closed", why: DENO_CHUNKS },
    "invalid/chunked_12": { observed: "no answer; closed", why: DENO_CHUNKS },
    "invalid/chunked_13": { observed: "no answer; closed", why: DENO_CHUNKS },
    "invalid/chunked_14": { observed: "no answer; closed", why: DENO_CHUNKS },
    "invalid/rfc9112_chunked_size_minus_sign_01": { observed: "no answer; closed", why: DENO_CHUNKS },
    "invalid/rfc9112_chunked_size_plus_sign_01": { observed: "no answer; closed", why: DENO_CHUNKS },
    "invalid/rfc9110_trailer_forbidden_cl_01": { observed: "200; closed", why: DENO_TRAILERS },
    "invalid/rfc9110_trailer_forbidden_host_01": { observed: "200; closed", why: DENO_TRAILERS },
    "invalid/rfc9110_trailer_forbidden_te_01": { observed: "200; closed", why: DENO_TRAILERS },
    "valid/004": { observed: "200; closed", why: DENO_VERSION },
    "valid/005": { observed: "200; closed", why: DENO_VERSION },
    "valid/006": { observed: "200; closed", why: DENO_VERSION },
    "valid/007": { observed: "200; closed", why: DENO_VERSION },
    "valid/014": { observed: "200; closed", why: DENO_VERSION },
    "valid/018": { observed: "200, 200; closed", why: DENO_VERSION },
    "valid/021": { observed: "200; closed", why: DENO_VERSION },
    "valid/100": { observed: "200; closed", why: DENO_VERSION },
    "valid/027": { observed: "200; closed", why: "Deno takes raw non-ASCII bytes in the target and percent-encodes them" },
    "valid/rfc9112_target_asterisk_options_01": { observed: "200; closed", why: "Deno's URL for OPTIONS * is that of the path /*: the app gets it" },
  },
  bun: {
    "invalid/001": { observed: "no answer; closed", why: "Bun closes on a header section cut short without an answer" },
    "invalid/rfc9110_trailer_forbidden_cl_01": { observed: "200, 400 (the runtime's page); closed", why: BUN_TRAILERS },
    "invalid/rfc9110_trailer_forbidden_host_01": { observed: "200, 400 (the runtime's page); closed", why: BUN_TRAILERS },
    "invalid/rfc9110_trailer_forbidden_te_01": { observed: "200, 400 (the runtime's page); closed", why: BUN_TRAILERS },
    "invalid/rfc9112_chunked_missing_final_crlf_01": { observed: "200; closed", why: "Bun's parser takes a chunked body without the CRLF after its last chunk" },
    "valid/027": { observed: "200; closed", why: "Bun takes raw non-ASCII bytes in the target and percent-encodes them" },
    "valid/099": { observed: "no answer; closed", why: "Bun closes on a body cut short without an answer" },
    "valid/rfc9112_chunked_ext_quoted_01": { observed: "400 (the runtime's page); closed", why: "Bun's parser refuses a quoted chunk extension (RFC 9112 §7.1.1 allows it)" },
    "valid/rfc9112_target_absolute_userinfo_01": { observed: "200; closed", why: "Bun builds the URL from Host and drops the target's authority, userinfo and all, unseen" },
    "valid/rfc9112_target_asterisk_options_01": { observed: "400 (the runtime's page); closed", why: "Bun's parser refuses OPTIONS *" },
  },
};

/** The client half-closes once the server is quiet; a server still at work on the request gets a second before that. */
const PATIENT = { firstByteMs: 1_000 };

interface EchoServer {
  port: number;
  stop(): Promise<void>;
}

async function startEcho(runtime: RuntimeName): Promise<EchoServer> {
  const port = await freePort();
  const [file, ...args] = COMMANDS[runtime];
  const proc = spawn(file!, [...args, ECHO_SERVER, String(port)], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], detached: true });
  let log = "";
  proc.stderr!.on("data", (d) => (log += d));
  await waitForPort(proc, port, `echo server on ${runtime}`, () => log, 30_000);
  return { port, stop: () => stopProcessGroup(proc, "SIGTERM") };
}

/** What a server did with a case, in a few words: each answer's status (and whose page a refusal is), then how the connection ended. */
function summary(ex: Exchange): string {
  const answers = ex.answers.map((a) => (a.status < 400 || isPosternPage(a) ? String(a.status) : `${a.status} (the runtime's page)`));
  return `${answers.join(", ") || "no answer"}; ${ex.end}`;
}

function isPosternPage(answer: Answer): boolean {
  return answer.body.toString() === `${answer.status} ${reasonPhrase(answer.status)}\n`;
}

/**
 * A refusal as postern writes it: errorResponse's page and Connection: close.
 * On Deno and Bun the runtime's own parser refuses much before postern sees
 * a Request: its own page then, with a 4xx or 5xx of its choosing.
 */
function expectRefusal(answer: Answer | undefined, status: number, runtime: RuntimeName = "node") {
  if (runtime !== "node" && answer !== undefined && !isPosternPage(answer)) {
    expect(answer.status, "the runtime's own refusal").toBeGreaterThanOrEqual(400);
    return;
  }
  expect(answer?.status).toBe(status);
  expect(answer!.body.toString()).toBe(`${status} ${reasonPhrase(status)}\n`);
  expect(answer!.headers).toContainEqual(["connection", "close"]);
  expect(answer!.headers).toContainEqual(["content-type", "text/plain; charset=utf-8"]);
}

const cases: Case[] = existsSync(CORPUS) ? (JSON.parse(readFileSync(CORPUS, "utf8")) as Case[]) : [];

if (cases.length === 0) {
  const message = `HTTP corpus not found at ${CORPUS}`;
  if (process.env.CI === "true") it("the HTTP corpus is present", () => expect.fail(message));
  else it.skip(`${message}: skipped outside CI`, () => undefined);
} else {
  it("the deviation tables name real cases, and NO_HOST is exactly the HTTP/1.1 requests without Host", () => {
    const names = new Set(cases.map((c) => c.name));
    const differences = Object.values(KNOWN_DIFFERENCES).flatMap((table) => Object.keys(table));
    for (const name of [...Object.keys(INVALID_DEVIATIONS), ...Object.keys(VALID_DEVIATIONS), ...NO_HOST, ...ANSWERED_BY_POSTERN, ...GET_BODY_DROPPED, ...differences]) {
      expect(names, name).toContain(name);
    }
    const hostless = cases
      .filter((c) => c.kind === "valid" && !skipReason(c) && !VALID_DEVIATIONS[c.name])
      .filter((c) => {
        const head = Buffer.from(c.raw_b64, "base64").toString("latin1").split("\r\n\r\n")[0]!;
        return head.split("\r\n")[0]!.endsWith("HTTP/1.1") && !/\r\nhost:/i.test(head);
      })
      .map((c) => c.name);
    expect(new Set(hostless)).toEqual(NO_HOST);
  });

  for (const runtime of ["node", "deno", "bun"] as const) corpusOn(runtime);
}

function corpusOn(runtime: RuntimeName): void {
  describe(`Gunicorn HTTP corpus against postern on ${runtime}`, () => {
    let server: EchoServer | undefined;
    let port = 0;
    beforeAll(async () => {
      server = await startEcho(runtime);
      port = server.port;
    }, 60_000);
    afterAll(() => server?.stop());

    /** The requests whose body the app read to the end since the last call. */
    async function served(): Promise<string[]> {
      return JSON.parse((await rawRequest(port, "GET /__served HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).body.toString()) as string[];
    }

    async function expectStillServing() {
      const res = await rawRequest(port, "GET /__health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      expect(res.status).toBe(200);
    }

    async function expectIntact(raw: Buffer, name: string) {
      const want = expectedRequest(raw);
      const ex = await exchange(port, raw, PATIENT);
      const first = ex.answers[0];
      expect(first?.status, first?.body.toString()).toBe(200);
      const echo = JSON.parse(first!.body.toString()) as { method: string; target: string; headers: [string, string][]; body: string };
      expect(echo.method).toBe(want.method);
      expect(echo.target).toBe(want.target);
      expect(echo.headers.sort(byName)).toEqual(want.headers);
      expect(Buffer.from(echo.body, "base64").toString("latin1")).toBe(GET_BODY_DROPPED.has(name) ? "" : want.body.toString("latin1"));
      return ex;
    }

    const known = KNOWN_DIFFERENCES[runtime];

    describe("invalid requests: a clear 4xx/5xx, and the next connection is served", () => {
      for (const c of cases.filter((c) => c.kind === "invalid")) {
        const why = skipReason(c);
        if (why) {
          it.skip(`${c.name} (${why})`, () => undefined);
          continue;
        }
        const raw = Buffer.from(c.raw_b64, "base64");
        const difference = known[c.name];
        if (difference) {
          it(`${c.name}: known difference on ${runtime}: ${difference.observed}: ${difference.why}`, async () => {
            await served();
            expect(summary(await exchange(port, raw, PATIENT)), `${runtime} now answers ${c.name} otherwise: update KNOWN_DIFFERENCES`).toBe(difference.observed);
            await expectStillServing();
          });
          continue;
        }
        const deviation = INVALID_DEVIATIONS[c.name];
        it(deviation ? `${c.name} -> ${deviation.status}, not ${c.expect_status}: ${deviation.why}` : `${c.name} -> ${c.expect_status}`, async () => {
          await served();
          const ex = await exchange(port, raw, PATIENT);
          expect(ex.end).toBe("closed");
          if (deviation?.status === 200) {
            expect(ex.answers[0]?.status).toBe(200);
          } else {
            expectRefusal(ex.answers.at(-1), deviation?.status ?? c.expect_status!, runtime);
            expect(await served(), "a refused request never reaches the app whole").toEqual([]);
          }
          await expectStillServing();
        });
      }
    });

    describe("valid requests reach the app intact", () => {
      for (const c of cases.filter((c) => c.kind === "valid")) {
        const why = skipReason(c);
        if (why) {
          it.skip(`${c.name} (${why})`, () => undefined);
          continue;
        }
        const raw = Buffer.from(c.raw_b64, "base64");
        const difference = known[c.name];
        const deviation = VALID_DEVIATIONS[c.name];
        if (difference) {
          it(`${c.name}: known difference on ${runtime}: ${difference.observed}: ${difference.why}`, async () => {
            expect(summary(await exchange(port, raw, PATIENT)), `${runtime} now answers ${c.name} otherwise: update KNOWN_DIFFERENCES`).toBe(difference.observed);
            await expectStillServing();
          });
        } else if (deviation) {
          it(`${c.name} -> ${deviation.status}: ${deviation.why}`, async () => {
            const ex = await exchange(port, raw, PATIENT);
            expectRefusal(ex.answers[0], deviation.status, runtime);
            await expectStillServing();
          });
        } else if (NO_HOST.has(c.name)) {
          it(`${c.name} -> 400 without Host (RFC 9112 §3.2), intact with one`, async () => {
            expectRefusal((await exchange(port, raw, PATIENT)).answers[0], 400, runtime);
            await expectIntact(withHost(raw), c.name);
          });
        } else if (ANSWERED_BY_POSTERN.has(c.name)) {
          it(`${c.name} -> 200 from postern itself (OPTIONS *)`, async () => {
            const ex = await exchange(port, raw, PATIENT);
            expect(ex.answers[0]?.status).toBe(200);
            expect(ex.answers[0]?.body.length).toBe(0);
          });
        } else {
          it(c.name, async () => {
            const ex = await expectIntact(raw, c.name);
            // A body is never taken for a request (valid/020: its body reads "GET /second").
            if (c.name === "valid/020") expect(ex.answers).toHaveLength(1);
          });
        }
      }
    });

    it("nothing pipelined behind a refused request reaches the app", async () => {
      await served();
      const smuggled = "POST /a HTTP/1.1\r\nHost: x\r\nHost: y\r\nContent-Length: 0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
      const ex = await exchange(port, Buffer.from(smuggled), PATIENT);
      expect(ex.answers).toHaveLength(1);
      expectRefusal(ex.answers[0], 400, runtime);
      expect(await served()).toEqual([]);
    });

    it("nothing pipelined behind a request postern refuses reaches the app, whatever the runtime's server made of it", async () => {
      for (const refused of ["GET /a HTTP/1.1\r\nHost: a/b?\r\n\r\n", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Type: a/b\r\nContent-Type: c/d\r\nContent-Length: 0\r\n\r\n"]) {
        await served();
        const ex = await exchange(port, Buffer.from(`${refused}GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n`), PATIENT);
        expect(ex.answers.length, refused).toBeGreaterThan(0);
        // Deno keeps the connection open: the request behind gets the refusal too.
        for (const answer of ex.answers) expectRefusal(answer, 400, runtime);
        expect(await served(), refused).toEqual([]);
      }
    });

    it("an absolute-form target's authority replaces Host (RFC 9112 §3.2.2)", async () => {
      const ex = await exchange(port, Buffer.from("GET http://other.example:81/x?y HTTP/1.1\r\nHost: x\r\n\r\n"), PATIENT);
      const echo = JSON.parse(ex.answers[0]!.body.toString()) as { target: string; headers: [string, string][] };
      expect(echo.target).toBe("/x?y");
      // Bun builds the URL from Host and drops the target's authority unseen (a known difference).
      expect(echo.headers).toContainEqual(["host", runtime === "bun" ? "x" : "other.example:81"]);
    });

    it("Host stays as sent where the runtime's URL spells it otherwise (case, default port)", async () => {
      const ex = await exchange(port, Buffer.from("GET /x HTTP/1.1\r\nHost: EXAMPLE.com:80\r\n\r\n"), PATIENT);
      const echo = JSON.parse(ex.answers[0]!.body.toString()) as { headers: [string, string][] };
      expect(echo.headers).toContainEqual(["host", "EXAMPLE.com:80"]);
    });

    it("a header section over the server's limit -> 431 (or the runtime's own refusal)", async () => {
      const ex = await exchange(port, Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\n${"X-Big: y\r\n".repeat(2000)}\r\n`), PATIENT);
      expectRefusal(ex.answers[0], 431, runtime);
    });
  });
}

// ---- checkRequestHead and checkTrailers, one rule a line ----

const head = (fields: string[], over: Partial<RequestHead> = {}): RequestHead => ({
  method: "POST",
  target: "/",
  httpVersion: "1.1",
  rawHeaders: ["Host", "x", ...fields],
  ...over,
});

describe("checkRequestHead", () => {
  const table: [string, RequestHead, number | undefined][] = [
    ["a plain request passes", head(["Content-Length", "5"]), undefined],
    ["HTTP/1.0 without Host passes", head([], { httpVersion: "1.0", rawHeaders: [] }), undefined],
    ["gzip then chunked -> 501 (a coding postern does not decode, as lighttpd)", head(["Transfer-Encoding", "gzip, chunked"]), 501],
    ["identity then chunked -> 501", head(["Transfer-Encoding", "identity", "Transfer-Encoding", "chunked"]), 501],
    ["chunked alone passes", head(["Transfer-Encoding", " Chunked "]), undefined],
    ["two equal Content-Length pass", head(["Content-Length", "5", "content-length", "5"]), undefined],
    ["HTTP/2.0 -> 400", head([], { httpVersion: "2.0" }), 400],
    ["HTTP/1.1 without Host -> 400", head([], { rawHeaders: [] }), 400],
    ["two Host -> 400", head(["HOST", "y"]), 400],
    ["two Content-Type -> 400", head(["Content-Type", "a/b", "content-type", "a/b"]), 400],
    ["two different Content-Length -> 400", head(["Content-Length", "5", "Content-Length", "6"]), 400],
    ["Content-Length not a number -> 400", head(["Content-Length", "+5"]), 400],
    ["Content-Length and Transfer-Encoding -> 400", head(["Content-Length", "5", "Transfer-Encoding", "chunked"]), 400],
    ["Transfer-Encoding in HTTP/1.0 -> 400", head(["Transfer-Encoding", "chunked"], { httpVersion: "1.0" }), 400],
    ["chunked not final -> 400", head(["Transfer-Encoding", "chunked, gzip"]), 400],
    ["chunked twice -> 400", head(["Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked"]), 400],
    ["no chunked at all -> 400", head(["Transfer-Encoding", "gzip"]), 400],
    ["empty Transfer-Encoding -> 400", head(["Transfer-Encoding", ""]), 400],
    ["unknown transfer coding -> 501", head(["Transfer-Encoding", "br, chunked"]), 501],
    ["CONNECT -> 501", head([], { method: "CONNECT", target: "h:443" }), 501],
    ["Expect: 100-continue passes", head(["Expect", "100-Continue"]), undefined],
    ["any other expectation -> 417", head(["Expect", "200-ok"]), 417],
    ["two Content-Type joined into one line -> 400", head(["Content-Type", "application/json, text/html"]), 400],
    ["a comma inside a quoted parameter passes", head(["Content-Type", 'multipart/form-data; boundary="a,b"']), undefined],
    ["asterisk target with GET -> 400", head([], { method: "GET", target: "*" }), 400],
    ["asterisk target with OPTIONS passes", head([], { method: "OPTIONS", target: "*" }), undefined],
    ["userinfo in an absolute target -> 400", head([], { target: "http://u:p@h/x" }), 400],
    ["an absolute target with a port passes", head([], { target: "http://h:8080/x?y" }), undefined],
    ["an absolute target with an IPv6 literal passes", head([], { target: "http://[::1]:80/" }), undefined],
    ["an absolute target with a bad authority -> 400", head([], { target: "http://a b/x" }), 400],
    ["an absolute target of another scheme -> 400", head([], { target: "ftp://h/x" }), 400],
    ["Host with a port passes", head([], { rawHeaders: ["Host", "example.com:8080"] }), undefined],
    ["Host IPv4 passes", head([], { rawHeaders: ["Host", "127.0.0.1"] }), undefined],
    ["Host IPv6 literal passes", head([], { rawHeaders: ["Host", "[2001:db8::7]:443"] }), undefined],
    ["Host IPv6 with dotted tail passes", head([], { rawHeaders: ["Host", "[::ffff:10.0.0.1]"] }), undefined],
    ["Host empty -> 400 (RFC 9110 §4.2.1)", head([], { rawHeaders: ["Host", ""] }), 400],
    ["Host with a path -> 400", head([], { rawHeaders: ["Host", "a/cgi-bin/env.pl?"] }), 400],
    ["Host with markup -> 400", head([], { rawHeaders: ["Host", "<script>"] }), 400],
    ["Host with a space -> 400", head([], { rawHeaders: ["Host", "a b"] }), 400],
    ["Host joined from two lines -> 400", head([], { rawHeaders: ["Host", "a, b"] }), 400],
    ["Host with userinfo -> 400", head([], { rawHeaders: ["Host", "u@h"] }), 400],
    ["Host with a bad port -> 400", head([], { rawHeaders: ["Host", "h:99999"] }), 400],
    ["Host with a bad IPv6 literal -> 400", head([], { rawHeaders: ["Host", "[::1::2]"] }), 400],
    ["Host IPvFuture -> 400", head([], { rawHeaders: ["Host", "[v1.x]"] }), 400],
    ["@ in an absolute target's path passes", head([], { target: "http://h/a@b" }), undefined],
    ["request line over 4094 -> 414", head([], { target: `/${"a".repeat(4084)}` }), 414],
    ["a request line of exactly 4094 passes (POST, a 4080-byte target)", head([], { target: `/${"a".repeat(4079)}` }), undefined],
    ["a head over 8192 bytes -> 431", head(["X", "v".repeat(4000), "Y", "v".repeat(4000), "Z", "v".repeat(200)]), 431],
    ["101 fields -> 431", head(Array.from({ length: 200 }, (_, i) => (i % 2 ? "v" : `F${i}`))), 431],
    ["a field line over 8190 -> 431", head(["X", "v".repeat(8186)]), 431],
  ];
  for (const [name, request, status] of table) {
    it(name, () => expect(checkRequestHead(request)?.status).toBe(status));
  }

  it("limits are configurable", () => {
    expect(checkRequestHead(head(["A", "1", "B", "2"]), { maxHeaders: 2 })?.status).toBe(431);
    expect(checkRequestHead(head([]), { maxRequestLine: 10 })?.status).toBe(414);
    expect(checkRequestHead(head(["X", "v".repeat(500)]), { maxHeaderBytes: 500 })?.status).toBe(431);
    // With room for the whole head, a field line of exactly max_header_size passes.
    expect(checkRequestHead(head(["X", "v".repeat(8185)]), { maxHeaderBytes: 16384 })).toBeUndefined();
  });
});

describe("checkTrailers", () => {
  it("refuses Host, Content-Length and Transfer-Encoding", () => {
    for (const name of ["Host", "content-length", "Transfer-Encoding"]) expect(checkTrailers([name, "x"])?.status).toBe(400);
  });
  it("lets other trailer fields through (valid/012: Vary, Content-Type)", () => {
    expect(checkTrailers(["Vary", "*", "Content-Type", "text/plain"])).toBeUndefined();
  });
});
