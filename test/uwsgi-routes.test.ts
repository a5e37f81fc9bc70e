// uwsgi and SCGI routes against a real uWSGI (its python3 plugin, serving
// test/fixtures/uwsgi/app.py, a WSGI app wrapped in wsgiref.validate):
// the environ the app sees, bodies (5 MiB, chunked), cookies and statuses,
// a dead backend, the vars-block limit, health checks and balancing over
// two backends, timeouts, and the README's example served as written.

import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { findUwsgi, startUwsgi } from "./fixtures/uwsgi/server.ts";
import type { ServerProcess } from "./helpers/server-process.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { readmeBlock, substitute } from "./helpers/readme.ts";

const UWSGI = findUwsgi();
const MiB = 1024 * 1024;
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

interface Seen {
  environ: Record<string, string>;
  body_length: number;
  body_md5: string;
}

async function get(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000), ...init });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const route = (path: string, gateway: string, backends: string[], lines: string[] = []) =>
  ["[[routes]]", `path = "${path}"`, `gateway = "${gateway}"`, `backend = ${JSON.stringify(backends)}`, ...lines, ""].join("\n");

describe.skipIf(!UWSGI).each(["uwsgi", "scgi"] as const)("%s routes to a real uWSGI", (protocol) => {
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let postern: RunningPostern | undefined;
  let base = "";
  const at = (server: ServerProcess | undefined) => `127.0.0.1:${server!.port}`;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startUwsgi(UWSGI!, { protocol, processes: 2, name: "a" }),
      startUwsgi(UWSGI!, { protocol, processes: 1, name: "b", bufferSize: 4096 }),
    ]);
    postern = await startPostern(
      [
        route("/py/*", protocol, [at(a)], ["max_conns = 2", 'env = { APP_MODE = "test", EMPTY = "" }']),
        route("/one/*", protocol, [at(a)]),
        route("/stream/*", protocol, [at(a)], ["request_buffering = false"]),
        // One request at a time (the default max_conns): the next waits, or finds no room.
        route("/full/*", protocol, [at(a)], ["max_queue = 0"]),
        route("/queued/*", protocol, [at(a)], ['queue_timeout = "1s"']),
        route("/slow/*", protocol, [at(a)], ['first_byte_timeout = "1s"']),
        route("/both/*", protocol, [at(a), at(b)], ['balance = "round_robin"']),
        // b reads at most 4096 bytes of variables: a larger block makes it close the connection.
        route("/small/*", protocol, [at(b)], [`env = { BIG = "${"x".repeat(8000)}" }`]),
        route("/huge/*", protocol, [at(a)], [`env = { BIG = "${"x".repeat(70_000)}" }`]),
        // Port 9 (discard) on loopback: nothing listens there.
        route("/dead/*", protocol, ["127.0.0.1:9"], ['connect_timeout = "10s"']),
        route("/checked/*", protocol, [at(a), "127.0.0.1:9"], ['balance = "round_robin"', 'health = { path = "/ping", interval = "1s", timeout = "10s", fails = 1 }']),
        route("/wrong/*", protocol, [at(a)], ['health = { path = "/status?code=503", interval = "1s", timeout = "10s", fails = 1 }']),
        // "%61" is "a": only with PATH_INFO /status, as a request for the same path gives it, does the app answer 503; any other path is a 200.
        route("/escaped/*", protocol, [at(a), "127.0.0.1:9"], ['balance = "round_robin"', 'health = { path = "/st%61tus?code=503", status = 503, interval = "1s", timeout = "10s", fails = 1 }']),
      ].join("\n"),
    );
    base = postern.url;
  }, 60_000);

  afterAll(async () => {
    await postern?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("the environ a WSGI app sees: the route's mount as SCRIPT_NAME, the rest as PATH_INFO, headers, cookies, env", async () => {
    const answer = await get(`${base}/py/env/a%20b?x=1&y=%20`, { headers: { "X-Test": "yes", Cookie: "k=v; m=n" } });
    expect(answer.status).toBe(200);
    const { environ } = JSON.parse(answer.text) as Seen;
    expect(environ).toMatchObject({
      REQUEST_METHOD: "GET",
      SCRIPT_NAME: "/py",
      PATH_INFO: "/env/a b",
      QUERY_STRING: "x=1&y=%20",
      REQUEST_URI: "/py/env/a%20b?x=1&y=%20",
      SERVER_PROTOCOL: "HTTP/1.1",
      SERVER_NAME: "127.0.0.1",
      REMOTE_ADDR: "127.0.0.1",
      HTTP_X_TEST: "yes",
      HTTP_COOKIE: "k=v; m=n",
      APP_MODE: "test",
      EMPTY: "",
      "wsgi.url_scheme": "http",
    });
    expect(environ.SERVER_PORT).toBe(new URL(base).port);
    if (protocol === "scgi") expect(environ).toMatchObject({ SCGI: "1", CONTENT_LENGTH: "0" });
  });

  test("PATH_INFO is the latin-1 decoding of the path's UTF-8 bytes (PEP 3333)", async () => {
    const { environ } = JSON.parse((await get(`${base}/py/caf%C3%A9`)).text) as Seen;
    expect(environ.PATH_INFO).toBe("/caf\u00c3\u00a9");
  });

  test("a 5 MiB body arrives whole, with its CONTENT_LENGTH", async () => {
    const body = randomBytes(5 * MiB);
    const answer = await get(`${base}/py/env`, { method: "POST", body, headers: { "Content-Type": "application/octet-stream" } });
    const seen = JSON.parse(answer.text) as Seen;
    expect({ length: seen.body_length, md5: seen.body_md5 }).toEqual({ length: body.byteLength, md5: md5(body) });
    expect(seen.environ).toMatchObject({ CONTENT_LENGTH: String(body.byteLength), CONTENT_TYPE: "application/octet-stream" });
  });

  test("a chunked body arrives with the CONTENT_LENGTH it turned out to have", async () => {
    const piece = randomBytes(64 * 1024);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 16) return controller.close();
        sent++;
        controller.enqueue(piece);
      },
    });
    const answer = await get(`${base}/py/env`, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    const seen = JSON.parse(answer.text) as Seen;
    expect(seen.environ.CONTENT_LENGTH).toBe(String(16 * piece.byteLength));
    expect(seen.environ.HTTP_TRANSFER_ENCODING).toBeUndefined();
    expect(seen.body_md5).toBe(md5(Buffer.concat(Array.from({ length: 16 }, () => piece))));
  });

  test("request_buffering = false: a 5 MiB body with its length streams through, a chunked one is read whole first", async () => {
    const body = randomBytes(5 * MiB);
    const streamed = JSON.parse((await get(`${base}/stream/env`, { method: "POST", body })).text) as Seen;
    expect({ length: streamed.body_length, md5: streamed.body_md5 }).toEqual({ length: body.byteLength, md5: md5(body) });
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body.subarray(0, MiB));
        controller.close();
      },
    });
    const whole = JSON.parse((await get(`${base}/stream/env`, { method: "POST", body: chunked, duplex: "half" } as RequestInit)).text) as Seen;
    expect(whole.environ.CONTENT_LENGTH).toBe(String(MiB));
    expect(whole.body_md5).toBe(md5(body.subarray(0, MiB)));
  });

  test("a status and three Set-Cookie fields", async () => {
    const answer = await get(`${base}/py/cookies`);
    expect(answer.status).toBe(201);
    expect(answer.headers.getSetCookie()).toEqual(["a=1", "b=2", "c=3; Path=/"]);
    expect(answer.text).toBe("cookies");
  });

  test.each([404, 418, 503])("status %i is passed on", async (code) => {
    expect((await get(`${base}/py/status?code=${code}`)).status).toBe(code);
  });

  test("204 and HEAD: no body", async () => {
    const empty = await get(`${base}/py/status?code=204`);
    expect({ status: empty.status, text: empty.text }).toEqual({ status: 204, text: "" });
    const head = await get(`${base}/py/cookies`, { method: "HEAD" });
    expect({ status: head.status, text: head.text }).toEqual({ status: 201, text: "" });
  });

  test("an answer streams: its first part reaches the client while the app still works", async () => {
    const res = await fetch(`${base}/py/drip?ms=1000`);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("start");
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toBe("end");
  });

  test("8 MiB streamed out", async () => {
    const answer = await fetch(`${base}/py/big?mb=8`);
    expect((await answer.arrayBuffer()).byteLength).toBe(8 * MiB);
  });

  test("a client that leaves mid-answer frees its connection: the next request on a one-connection route is answered", async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/one/big?mb=256`, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.cancel().catch(() => undefined);
    for (let i = 0; i < 3; i++) expect((await get(`${base}/one/ping`)).text).toBe("pong");
  });

  test("a backend nobody listens on: 502 at once, not after a queue or connect timeout", async () => {
    const started = Date.now();
    for (let i = 0; i < 3; i++) expect((await get(`${base}/dead/env`)).status).toBe(502);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test.each([
    ["/full", "no room in the queue (max_queue = 0)"],
    ["/queued", "a wait in the queue past queue_timeout"],
  ])("%s: the backend busy with its one request, %s: 503 with Retry-After", async (mount) => {
    // Its answer has begun: the backend's one connection is taken until it ends.
    const busy = await fetch(`${base}${mount}/drip?ms=3000`);
    const refused = await get(`${base}${mount}/ping`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await busy.text()).toBe("startend");
  });

  test("an answer slower than first_byte_timeout: 504", async () => {
    expect((await get(`${base}/slow/sleep?ms=4000`)).status).toBe(504);
  });

  test("a backend that closes the connection on a vars block over its --buffer-size: 502", async () => {
    expect((await get(`${base}/small/env`)).status).toBe(502);
    expect(postern!.errors.join("\n")).toMatch(/\/small\/\*\): .*(closed before an answer|connection reset)/);
  });

  test.skipIf(protocol !== "uwsgi")("a vars block over 65535 bytes: 431, nothing sent", async () => {
    expect((await get(`${base}/huge/env`)).status).toBe(431);
  });

  test("two backends, round robin: both answer", async () => {
    const names = new Set<string>();
    for (let i = 0; i < 6; i++) names.add((await get(`${base}/both/name`)).text);
    expect([...names].sort()).toEqual(["a", "b"]);
  });

  test("health checks in the backend's protocol take a dead backend out: every request is answered", async () => {
    // The first check runs at once; fails = 1 takes the dead one out.
    const deadline = Date.now() + 15_000;
    while (!postern!.errors.some((line) => line.includes("127.0.0.1:9: failed its health check /ping")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Retries alone would answer every GET too: the check itself must have run, failed the dead one and passed the live one.
    expect(postern!.errors.some((line) => line.includes("127.0.0.1:9: failed its health check /ping"))).toBe(true);
    expect(postern!.errors.some((line) => line.includes(`${at(a)}: failed its health check /ping`))).toBe(false);
    for (let i = 0; i < 6; i++) expect((await get(`${base}/checked/ping`)).text).toBe("pong");
  });

  test("a health check's path is decoded as a request's: an escaped path reaches the app's route, the live backend stays in", async () => {
    const deadline = Date.now() + 15_000;
    while (!postern!.errors.some((line) => line.includes("127.0.0.1:9: failed its health check /st%61tus")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(postern!.errors.some((line) => line.includes("127.0.0.1:9: failed its health check /st%61tus"))).toBe(true);
    expect(postern!.errors.some((line) => line.includes(`${at(a)}: failed its health check /st%61tus`))).toBe(false);
  });

  test("a health check answered with another status takes the backend out: 502", async () => {
    const deadline = Date.now() + 15_000;
    while (!postern!.errors.some((line) => line.includes("failed its health check /status?code=503")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await get(`${base}/wrong/ping`)).status).toBe(502);
  });
});

describe.skipIf(!UWSGI)("the README's uwsgi and SCGI example", () => {
  test("served as written, the addresses replaced by real uWSGI servers", async () => {
    const servers = await Promise.all([
      startUwsgi(UWSGI!, { protocol: "uwsgi", name: "one" }),
      startUwsgi(UWSGI!, { protocol: "uwsgi", name: "two" }),
      startUwsgi(UWSGI!, { protocol: "scgi", name: "scgi" }),
    ]);
    const [one, two, scgi] = servers.map((s) => `127.0.0.1:${s.port}`);
    let postern: RunningPostern | undefined;
    try {
      const example = readmeBlock("toml", 'gateway = "uwsgi"');
      postern = await startPostern(substitute(example, { "127.0.0.1:3031": one!, "127.0.0.1:3032": two!, "unix:/run/app/scgi.sock": scgi! }));
      const seen = JSON.parse((await get(`${postern.url}/py/env/x`)).text) as Seen;
      expect(seen.environ).toMatchObject({ SCRIPT_NAME: "/py", PATH_INFO: "/env/x" });
      expect((await get(`${postern.url}/app/name`)).text).toBe("scgi");
    } finally {
      await postern?.stop();
      await Promise.all(servers.map((s) => s.stop()));
    }
  }, 60_000);
});
