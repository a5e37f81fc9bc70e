// PEP 3333 as an application sees it behind postern: the environ, wsgi.input
// in every reading mode, write(), close(), exc_info, wsgi.file_wrapper,
// streaming, and the errors a server must catch (hop-by-hop headers, bad
// status lines, an application that raises). The probes
// (test/fixtures/wsgi/probes.py) run wrapped in wsgiref.validate.validator,
// warnings as errors: a server fault it finds would be a 500 and an
// AssertionError in the log, which the last test rules out.

import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { expectChunkByChunk, startWsgi, until, type WsgiServer } from "./helpers/wsgi.ts";

let server: WsgiServer;
/** A directory the workers may write to: CLOSE_LOG, the gate files, the big file. */
let dir: string;
let closeLog: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "postern-pep3333-"));
  closeLog = join(dir, "close.log");
  writeFileSync(closeLog, "");
  giveToScriptUser(dir);
  server = await startWsgi({ app: "probes:app", env: { CLOSE_LOG: closeLog } });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");
/** The lines of CLOSE_LOG that a probe tagged `tag` wrote. */
function closeEvents(tag: string): string[] {
  return readFileSync(closeLog, "utf8")
    .split("\n")
    .filter((line) => line.startsWith(`${tag} `))
    .map((line) => line.slice(tag.length + 1));
}

/** postern's log lines that mention `path`. */
const logOf = (path: string) => server.errors.filter((line) => line.includes(path)).join("\n");

describe("environ", () => {
  test("every CGI variable is a str; the wsgi.* keys are PEP 3333's, truthful for one single-threaded worker", async () => {
    const env = await (await fetch(server.url("/environ?a=%20b&c"), { headers: { "X-Probe": "yes" } })).json();
    expect(env._types).toEqual(["str"]);
    expect(env).toMatchObject({
      REQUEST_METHOD: "GET",
      SCRIPT_NAME: server.scriptName,
      PATH_INFO: "/environ",
      QUERY_STRING: "a=%20b&c",
      SERVER_PROTOCOL: "HTTP/1.1",
      HTTP_X_PROBE: "yes",
      "wsgi.version": [1, 0],
      "wsgi.url_scheme": "http",
      "wsgi.multithread": false,
      "wsgi.multiprocess": false,
      "wsgi.run_once": false,
      "wsgi.input_terminated": true,
      "wsgi.file_wrapper": "<type>",
    });
    expect(env["wsgi.input"]).toBeDefined();
    expect(env["wsgi.errors"]).toBeDefined();
    expect(env.SERVER_NAME).toBe("127.0.0.1");
    expect(env.SERVER_PORT).toMatch(/^\d+$/);
  });

  test("PATH_INFO of /caf%C3%A9 is the latin-1 decoding of its bytes, 'cafÃ©'", async () => {
    const env = await (await fetch(server.url("/environ/caf%C3%A9"))).json();
    expect(env.PATH_INFO).toBe("/environ/caf\u00c3\u00a9");
  });

  // Unlike Gunicorn, which passes '/caf\xe9': postern decodes paths once, as UTF-8, for every route.
  test("a path whose escapes are not UTF-8, /caf%E9, is refused with 400 before the application", async () => {
    const res = await fetch(server.url("/environ/caf%E9"));
    expect(res.status).toBe(400);
    await res.arrayBuffer();
  });

  test("a header value's UTF-8 bytes arrive one latin-1 char each", async () => {
    const env = await (await fetch(server.url("/environ"), { headers: { "X-Name": Buffer.from("café", "utf8").toString("latin1") } })).json();
    expect(env.HTTP_X_NAME).toBe("caf\u00c3\u00a9");
  });

  test("a header the application gives in latin-1 reaches the client byte for byte", async () => {
    const res = await fetch(server.url("/latin1-header"));
    expect(res.status).toBe(200);
    expect(Buffer.from(res.headers.get("x-latin1")!, "latin1")).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  });

  test("wsgi.multithread and wsgi.multiprocess follow --threads and --workers", async () => {
    const multi = await startWsgi({ app: "probes:app", workers: 2, threads: 2 });
    try {
      const env = await (await fetch(multi.url("/environ"))).json();
      expect(env).toMatchObject({ "wsgi.multithread": true, "wsgi.multiprocess": true, "wsgi.run_once": false });
    } finally {
      await multi.stop();
    }
  }, 60_000);
});

describe("wsgi.input ends at CONTENT_LENGTH in every reading mode", () => {
  const body = "alpha\nbeta\n\ngamma";
  const cases: [string, string, number[]][] = [
    ["read(n)", "/input?mode=read-n&size=7", [7, 7, 3]],
    ["readline()", "/input?mode=readline", [6, 5, 1, 5]],
    ["readline(size)", "/input?mode=readline-size&size=4", [4, 2, 4, 1, 1, 4, 1]],
    ["readlines()", "/input?mode=readlines", [6, 5, 1, 5]],
    ["iteration", "/input?mode=iter", [6, 5, 1, 5]],
  ];
  test.each(cases)("%s", async (_name, path, lengths) => {
    const got = await (await fetch(server.url(path), { method: "POST", body })).json();
    expect(got).toEqual({ lengths, sha256: sha256(body), after: 0, body });
  });

  // wsgiref's validator allows read() only with a size: these run without it.
  test("read() without a size (outside the validator)", { timeout: 60_000 }, async () => {
    const unwrapped = await rawServer();
    const got = await (await fetch(unwrapped.url("/input?mode=read"), { method: "POST", body })).json();
    expect(got).toEqual({ lengths: [17], sha256: sha256(body), after: 0, body });
  });

  test("a request without a body reads as empty", async () => {
    const got = await (await fetch(server.url("/input?mode=readline"))).json();
    expect(got).toEqual({ lengths: [], sha256: sha256(""), after: 0, body: "" });
  });

  test("a chunked body arrives whole with its CONTENT_LENGTH", async () => {
    const big = "line\n".repeat(20_000);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < big.length; i += 10_000) controller.enqueue(Buffer.from(big.slice(i, i + 10_000)));
        controller.close();
      },
    });
    const res = await fetch(server.url("/input?mode=read-n&size=65536"), { method: "POST", body: chunked, duplex: "half" } as RequestInit);
    const got = await res.json();
    expect(got.sha256).toBe(sha256(big));
  });

  // Lines and reads that straddle FastCGI records (65535 bytes each).
  test.each(["mode=readline", "mode=readline-size&size=100", "mode=iter", "mode=read-n&size=1000"])("a 1 MiB body of lines read with %s arrives whole", async (query) => {
    const lines = Array.from({ length: 8192 }, (_, i) => `${i}:${"y".repeat(i % 250)}\n`).join("");
    const got = await (await fetch(server.url(`/input?${query}`), { method: "POST", body: lines })).json();
    expect(got.sha256).toBe(sha256(lines));
    expect(got.after).toBe(0);
  });

  // A line longer than the bytes in hand is joined once, not grown record by record (quadratic: a
  // 48 MiB line took tens of seconds). CPU time against read(64 KiB)'s of the same body, with room to spare.
  test("readline() of a 48 MiB line costs about what read(64 KiB) of it does", async () => {
    const line = Buffer.alloc(48 * 1024 * 1024, "x");
    const cost = async (query: string) => (await (await fetch(server.url(`/input-cost${query}`), { method: "POST", body: line })).json()) as { bytes: number; cpu_s: number };
    const byBlocks = await cost("?size=65536");
    const byLine = await cost("");
    expect(byLine.bytes).toBe(line.length);
    expect(byBlocks.bytes).toBe(line.length);
    expect(byLine.cpu_s).toBeLessThan(10 * byBlocks.cpu_s + 0.5);
  }, 120_000);

  test("a 50 MiB upload read with read(64 KiB) leaves the worker's memory flat", async () => {
    const upload = randomBytes(50 * 1024 * 1024);
    const got = await (await fetch(server.url("/upload"), { method: "POST", body: upload })).json();
    expect(got.bytes).toBe(upload.length);
    expect(got.sha256).toBe(sha256(upload));
    // Peak RSS (KiB): what the worker had before, plus far less than the body.
    expect(got.rss_after_kib - got.rss_before_kib).toBeLessThan(8 * 1024);
  }, 60_000);
});

test("write() output goes out in order before the iterable's", async () => {
  expect(await (await fetch(server.url("/write"))).text()).toBe("one,two,three,four");
});

test("wsgi.errors lines reach postern's log with the request's path", async () => {
  expect(await (await fetch(server.url("/errors"))).text()).toBe("logged");
  const log = await until("the wsgi.errors lines", () => logOf("/errors").includes("line two") && logOf("/errors"));
  expect(log).toMatch(/stderr: probe log line one\nprobe log line two/);
});

describe("the iterable's close() is always called", () => {
  test("after a full answer", async () => {
    expect(await (await fetch(server.url("/close?tag=full"))).text()).toBe("chunk 0\nchunk 1\nchunk 2\n");
    expect(await until("close()", () => closeEvents("full").includes("closed") && closeEvents("full"))).toEqual(["sent 0", "sent 1", "sent 2", "closed"]);
  });

  test("after the iterable raises before any output: a 500", async () => {
    const res = await fetch(server.url("/close?tag=first&fail=first"));
    expect(res.status).toBe(500);
    await res.arrayBuffer();
    expect(await until("close()", () => closeEvents("first").length > 0 && closeEvents("first"))).toEqual(["closed"]);
  });

  test("after the iterable raises mid-answer: the answer is cut", async () => {
    const res = await fetch(server.url("/close?tag=during&fail=during"));
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(await until("close()", () => closeEvents("during").includes("closed") && closeEvents("during"))).toEqual(["sent 0", "closed"]);
    expect(logOf("/close")).toMatch(/RuntimeError: probe failure in the iterable/);
  });

  test("when the client leaves mid-stream", async () => {
    const abort = new AbortController();
    const res = await fetch(server.url("/close?tag=gone&chunks=100000&delay=0.02"), { signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    const events = await until("close()", () => closeEvents("gone").includes("closed") && closeEvents("gone"));
    expect(events.length).toBeLessThan(100_001);
  });
});

// PEP 3333, "Handling the Content-Length Header": the server "should stop
// iterating over the response when enough data has been sent".
test("an iterable that yields past its Content-Length: the answer ends there, iteration stops, close() is called", async () => {
  const res = await fetch(server.url("/close?tag=length&length=12&chunks=100000&delay=0.02"));
  expect(await res.text()).toBe("chunk 0\nchun");
  expect(await until("close()", () => closeEvents("length").includes("closed") && closeEvents("length"))).toEqual(["sent 0", "closed"]);
});

test("an iterable that ends before its Content-Length: the client's answer is cut, never passed off as whole", async () => {
  const res = await fetch(server.url("/close?tag=short&length=100&chunks=3"));
  // A 502 when the short end arrives before postern began the answer, a cut answer after.
  if (res.status === 200) await expect(res.text()).rejects.toThrow();
  else expect(res.status).toBe(502);
  expect(await until("close()", () => closeEvents("short").includes("closed") && closeEvents("short"))).toEqual(["sent 0", "sent 1", "sent 2", "closed"]);
});

describe("start_response with exc_info", () => {
  test("before output it replaces the status and headers", async () => {
    const res = await fetch(server.url("/exc-info?when=before"));
    expect(res.status).toBe(503);
    expect(res.headers.get("x-replaced")).toBe("yes");
    expect(res.headers.get("x-first")).toBeNull();
    expect(await res.text()).toBe("replaced");
  });

  test("after output began it re-raises: the answer is cut and the error logged", async () => {
    const res = await fetch(server.url("/exc-info?when=after"));
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(await until("the traceback", () => logOf("/exc-info").includes("ValueError") && logOf("/exc-info"))).toMatch(/ValueError: probe error/);
  });
});

describe("wsgi.file_wrapper streams a file", () => {
  const size = 8 * 1024 * 1024 + 123;
  let path: string;
  let content: Buffer;
  beforeAll(() => {
    content = randomBytes(size);
    path = join(dir, "big.bin");
    writeFileSync(path, content);
    giveToScriptUser(path);
  });

  test.each([
    // Under the validator the wrapper is iterated: blocks of the application's 8 KiB.
    ["through the validator's iteration", "probes:app", 8192],
    // Unwrapped, the adapter reads the file a FastCGI record's worth at a time.
    ["by the adapter itself", "probes:raw", 65528],
  ])("%s, in blocks, never read whole", async (_name, app, largest) => {
    const w = app === "probes:app" ? server : await startWsgi({ app, env: { CLOSE_LOG: closeLog } });
    try {
      const res = await fetch(w.url(`/file?path=${encodeURIComponent(path)}&tag=${largest}`));
      expect(res.status).toBe(200);
      expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(content));
      const line = await until("the file's close()", () => readFileSync(closeLog, "utf8").match(new RegExp(`file closed after (\\d+) reads, largest ${largest}\\n`)) ?? undefined);
      expect(Number(line[1])).toBeGreaterThan(size / largest);
    } finally {
      if (w !== server) await w.stop();
    }
  }, 60_000);
});

test("a slow generator's chunks reach the client one by one", async () => {
  await expectChunkByChunk(server.url("/slow"), join(dir, "gate"));
});

describe("errors the server catches", () => {
  test("an application that raises: 500, no traceback in the page, the traceback in the log", async () => {
    const res = await fetch(server.url("/raise"));
    expect(res.status).toBe(500);
    const page = await res.text();
    expect(page).not.toMatch(/hunter2|Traceback|RuntimeError/);
    expect(await until("the traceback", () => logOf("/raise").includes("hunter2") && logOf("/raise"))).toMatch(
      /Traceback \(most recent call last\):[\s\S]*RuntimeError: probe failure: the secret is hunter2/,
    );
  });

  test.each(["Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "TE", "Proxy-Connection"])("hop-by-hop header %s: 500 and a log line", async (name) => {
    const res = await fetch(server.url(`/hop-by-hop?name=${name}`));
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("never sent");
    await until("the log line", () => logOf("/hop-by-hop").includes(`hop-by-hop header ${name} from the application`));
  });

  // The validator would refuse these itself: they run unwrapped.
  test.each([
    ["crlf", /status '200 OK\\r\\nX-Injected: yes' is not/],
    ["bytes", /status must be a str/],
    ["no-code", /status 'OK' is not a 3-digit code/],
    ["value-crlf", /bad value of header X-A/],
    ["value-bytes", /header name and value must be str/],
    ["non-latin1", /bad value of header X-A/],
    ["bad-name", /bad header name 'X A'/],
  ])("start_response refuses %s: 500 and the reason in the log", async (kind, reason) => {
    const unwrapped = await rawServer();
    const answer = await fetch(unwrapped.url(`/bad-status?kind=${kind}`));
    expect(answer.status).toBe(500);
    expect(answer.headers.get("x-injected")).toBeNull();
    expect(await answer.text()).not.toContain("never sent");
    await until("the reason", () => reason.test(unwrapped.errors.join("\n")));
  });

  // Gunicorn copies the list when start_response is called, as the adapter does: what the
  // application adds afterwards is neither checked nor sent.
  test("a header added to the list after start_response is not sent", async () => {
    const unwrapped = await rawServer();
    const res = await fetch(unwrapped.url("/late-header"));
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(res.headers.get("x-late")).toBeNull();
    expect(await res.text()).toBe("late");
  });
});

let raw: WsgiServer | undefined;
/** The probes without the validator, started once when first needed. */
async function rawServer(): Promise<WsgiServer> {
  raw ??= await startWsgi({ app: "probes:raw", env: { CLOSE_LOG: closeLog } });
  return raw;
}
afterAll(async () => {
  await raw?.stop();
});

test("wsgiref's validator found nothing wrong with the server in any request above", () => {
  expect(existsSync(closeLog)).toBe(true);
  expect(server.errors.join("\n")).not.toMatch(/AssertionError|WSGIWarning/);
});
