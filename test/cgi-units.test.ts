// Pure parts of the CGI gateway: the spawner's frames, the NPH status-line
// parser, and the concurrency limiter.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { NphResponseParser } from "../gateways/script/nph.ts";
import { encodeControl, encodeInput, encodeStart, SpawnerFrameParser, startRequest, type SpawnerFrame } from "../gateways/cgi/spawner/protocol.ts";
import { GatewayError } from "../src/errors.ts";
import { concatBytes } from "../src/io/bytes.ts";
import { ConcurrencyLimiter } from "../src/limiter.ts";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

describe("spawner frames", () => {
  test("golden bytes of a start frame: head, stderr limit, counts, then NUL-terminated strings", () => {
    const frame = encodeStart({ id: 7, maxStderr: 8192, root: "/r", dir: "d", name: "x", argv: ["/bin/sh", "./x"], env: { A: "1" } });
    const strings = "/r\0d\0x\0/bin/sh\0./x\0A=1\0";
    const expected = new Uint8Array(9 + 12 + strings.length);
    const view = new DataView(expected.buffer);
    expected[0] = "S".charCodeAt(0);
    view.setUint32(1, 7, true);
    view.setUint32(5, 12 + strings.length, true);
    view.setUint32(9, 8192, true);
    view.setUint32(13, 2, true);
    view.setUint32(17, 1, true);
    expected.set(bytes(strings), 21);
    expect(frame).toEqual(expected);
  });

  test("UTF-8 strings are counted in bytes", () => {
    const frame = encodeStart({ id: 1, maxStderr: 0, root: "/", dir: "", name: "é", argv: ["./é"], env: {} });
    expect(new DataView(frame.buffer).getUint32(5, true)).toBe(12 + 2 + 1 + 3 + 5);
  });

  test("a NUL inside a string is refused rather than shifting every later one", () => {
    expect(() => encodeStart({ id: 1, maxStderr: 0, root: "/", dir: "", name: "x", argv: ["./x"], env: { A: "a\0b" } })).toThrow(GatewayError);
  });

  describe("where a start frame says the script is: its directory beneath the root, and ./name", () => {
    const spec = (argv: string[], cwd: string, root?: string) => ({ argv, cwd, root, env: {}, maxStderr: 8, onStderr: () => undefined });
    test("a script in a directory below the root, run by itself", () => {
      expect(startRequest(1, spec(["/srv/www/a/b/run.cgi"], "/srv/www/a/b", "/srv/www"))).toMatchObject({ root: "/srv/www", dir: "a/b", name: "run.cgi", argv: ["./run.cgi"] });
    });
    test("a script in the root itself, run by its interpreter", () => {
      expect(startRequest(1, spec(["/usr/bin/perl", "/srv/www/x.pl"], "/srv/www", "/srv/www"))).toMatchObject({ dir: "", name: "x.pl", argv: ["/usr/bin/perl", "./x.pl"] });
      expect(startRequest(1, spec(["/x.pl"], "/", "/"))).toMatchObject({ root: "/", dir: "", name: "x.pl" });
    });
    test("a script outside the root, or no root, is refused", () => {
      expect(() => startRequest(1, spec(["/srv/other/x.cgi"], "/srv/other", "/srv/www"))).toThrow(GatewayError);
      expect(() => startRequest(1, spec(["/srv/www2/x.cgi"], "/srv/www2", "/srv/www"))).toThrow(GatewayError);
      expect(() => startRequest(1, spec(["/srv/www/x.cgi"], "/srv/www"))).toThrow(GatewayError);
    });
  });

  test("stdin and control frames", () => {
    expect(encodeInput(2, bytes("hi"))).toEqual(Uint8Array.from([73, 2, 0, 0, 0, 2, 0, 0, 0, 104, 105]));
    expect(encodeControl("K", 3, 15)).toEqual(Uint8Array.from([75, 3, 0, 0, 0, 15, 0, 0, 0]));
  });

  const frameBytes = (type: string, id: number, n: number, payload = "") =>
    Uint8Array.from([type.charCodeAt(0), id, 0, 0, 0, n & 255, n >> 8, 0, 0, ...bytes(payload)]);
  const stream = concatBytes([
    frameBytes("O", 3, 5, "hello"),
    frameBytes("E", 4, 3, "err"),
    frameBytes("Z", 3, 0),
    frameBytes("X", 3, 0),
    frameBytes("F", 5, 8),
    frameBytes("A", 6, 0),
    frameBytes("X", 4, 137),
  ]);
  const expected: SpawnerFrame[] = [
    { type: "O", id: 3, payload: bytes("hello") },
    { type: "E", id: 4, payload: bytes("err") },
    { type: "Z", id: 3, n: 0 },
    { type: "X", id: 3, n: 0 },
    { type: "F", id: 5, n: 8 },
    { type: "A", id: 6, n: 0 },
    { type: "X", id: 4, n: 137 },
  ];

  test("one chunk", () => {
    const frames: SpawnerFrame[] = [];
    new SpawnerFrameParser().push(stream, (frame) => frames.push(frame));
    expect(frames).toEqual(expected);
  });

  test("any split of the stream gives the same frames", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 8 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
        const parser = new SpawnerFrameParser();
        const frames: SpawnerFrame[] = [];
        for (let i = 1; i < points.length; i++) parser.push(stream.slice(points[i - 1], points[i]), (frame) => frames.push(frame));
        expect(frames).toEqual(expected);
      }),
    );
  });

  test("an unknown frame type is an error, not skipped", () => {
    expect(() => new SpawnerFrameParser().push(frameBytes("Q", 1, 0), () => undefined)).toThrow(/unknown frame/);
  });
});

describe("NPH responses (RFC 3875 §5)", () => {
  function parse(chunks: string[]) {
    const parser = new NphResponseParser({ maxHeaderBytes: 4096 });
    for (const chunk of chunks) {
      const head = parser.push(bytes(chunk));
      if (head) return { head, rest: parser.takeRest() };
    }
    parser.finish();
    throw new Error("no head");
  }

  test("the status line decides the status; fields are parsed as CGI fields", () => {
    const { head, rest } = parse(["HTTP/1.1 201 Made\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nbody"]);
    expect(head.status).toBe(201);
    expect(head.statusText).toBe("Made");
    expect(head.kind).toBe("document");
    expect(head.headers).toEqual([
      ["Content-Type", "text/plain"],
      ["Set-Cookie", "a=1"],
      ["Set-Cookie", "b=2"],
    ]);
    expect(rest).toEqual(bytes("body"));
  });

  test("split anywhere, even inside the status line", () => {
    const { head } = parse(["HT", "TP/1.0 4", "04 Nope\n", "X: 1\n", "\n"]);
    expect(head.status).toBe(404);
    expect(head.headers).toEqual([["X", "1"]]);
  });

  test("a Location does not make it a redirect: the status line stands", () => {
    const { head } = parse(["HTTP/1.1 200 OK\r\nLocation: /elsewhere\r\n\r\n"]);
    expect(head.status).toBe(200);
    expect(head.kind).toBe("document");
  });

  for (const line of ["HTTP/2 200 OK", "HTTP/1.1 2000 OK", "Status: 200", "HTTP/1.1 200 O\rK", "HTTP/1.1 600 Odd", "ICY 200 OK"]) {
    test(`bad status line ${JSON.stringify(line)} is 502`, () => {
      expect(() => parse([`${line}\r\nContent-Type: text/plain\r\n\r\n`])).toThrow(/status line/);
    });
  }

  test("output ending before the status line is malformed", () => {
    expect(() => parse(["HTTP/1.1 20"])).toThrow(GatewayError);
  });

  test("an endless first line is cut off at 1 KiB", () => {
    expect(() => parse(["HTTP/1.1 200 ", "x".repeat(2000)])).toThrow(/too long/);
  });
});

describe("concurrency limiter", () => {
  const options = { maxActive: 2, maxQueue: 1, queueTimeoutMs: 60_000, what: "slots" };

  test("runs up to maxActive at once, queues up to maxQueue, refuses the rest with 503", async () => {
    const limiter = new ConcurrencyLimiter(options);
    const a = await limiter.acquire();
    await limiter.acquire();
    let third: (() => void) | undefined;
    const queued = limiter.acquire().then((release) => (third = release));
    const refused = await limiter.acquire().catch((err: GatewayError) => err);
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).status).toBe(503);
    expect((refused as GatewayError).retryAfter).toBe(1);
    expect(third).toBeUndefined();
    a();
    await queued;
    expect(third).toBeTypeOf("function");
    expect(limiter.active).toBe(2);
  });

  test("a release counts once however often it is called", async () => {
    const limiter = new ConcurrencyLimiter(options);
    const release = await limiter.acquire();
    release();
    release();
    expect(limiter.active).toBe(0);
  });

  test("a queued request times out with 503", async () => {
    const limiter = new ConcurrencyLimiter({ ...options, maxActive: 1, queueTimeoutMs: 20 });
    await limiter.acquire();
    const err = await limiter.acquire().catch((e: GatewayError) => e);
    expect((err as GatewayError).status).toBe(503);
  });

  test("a queued request whose client left is withdrawn and never runs", async () => {
    const limiter = new ConcurrencyLimiter({ ...options, maxActive: 1 });
    const release = await limiter.acquire();
    let cancel!: () => void;
    const withdrawn = limiter.acquire((c) => (cancel = c)).catch((e: GatewayError) => e);
    cancel();
    expect(((await withdrawn) as GatewayError).code).toBe("CLIENT_CLOSED");
    release();
    expect(limiter.active).toBe(0);
  });

  test("idle() waits for the running and the queued", async () => {
    const limiter = new ConcurrencyLimiter(options);
    const release = await limiter.acquire();
    let idle = false;
    const done = limiter.idle().then(() => (idle = true));
    await Promise.resolve();
    expect(idle).toBe(false);
    release();
    await done;
    expect(idle).toBe(true);
  });
});
