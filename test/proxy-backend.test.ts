// The proxy gateway against real HTTP servers (Node's http server, and
// Python's http.server): requests and answers passed on, kept connections,
// hop-by-hop fields dropped both ways, forwarding fields set, balancing and
// health, bodies streamed both ways.

import { request, type IncomingHttpHeaders } from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createGateway } from "../gateways/index.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { startBackend, type Backend, type Seen } from "./helpers/proxy-backend.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

const MiB = 1024 * 1024;

function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");
const route = (path: string, backends: string[], lines: string[] = []) =>
  ["[[routes]]", `path = "${path}"`, 'gateway = "proxy"', `backend = ${JSON.stringify(backends)}`, ...lines, ""].join("\n");

describe("proxy routes to real HTTP servers", () => {
  let a: Backend;
  let b: Backend;
  let postern: RunningPostern;

  beforeAll(async () => {
    [a, b] = await Promise.all([startBackend("a"), startBackend("b")]);
    postern = await startPostern(
      [
        route("/a/*", [`http://127.0.0.1:${a.port}`]),
        route("/host/*", [`127.0.0.1:${a.port}`], ['host_header = "backend.internal"']),
        route("/both/*", [`http://127.0.0.1:${a.port}`, `http://127.0.0.1:${b.port}`], ['balance = "round_robin"']),
      ].join("\n"),
    );
  });

  afterAll(async () => {
    await postern?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("a POST body and the answer pass through; connections are kept", async () => {
    const body = randomBytes(3 * MiB);
    const before = a.connections();
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${postern.url}/a/x/y?q=1`, { method: "POST", body });
      expect(res.status).toBe(200);
      const seen = (await res.json()) as Seen;
      expect(seen).toMatchObject({ method: "POST", url: "/a/x/y?q=1", length: body.byteLength, md5: md5(body) });
      expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    }
    expect(a.connections() - before).toBe(1);
  });

  test("hop-by-hop fields are dropped both ways", async () => {
    // fetch() refuses to send Connection and Keep-Alive: a plain request sends them.
    const res = await rawGet(`${postern.url}/a/hop`, { connection: "keep-alive, x-secret", "x-secret": "1", "keep-alive": "timeout=1", te: "trailers", "proxy-authorization": "Basic eA==", "x-kept": "yes" });
    const seen = JSON.parse(res.body) as Seen;
    expect(seen.headers["x-secret"]).toBeUndefined();
    expect(seen.headers["keep-alive"]).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(seen.headers["proxy-authorization"]).toBeUndefined();
    expect(seen.headers["x-kept"]).toBe("yes");
    expect(res.headers["x-hop"]).toBeUndefined();
    expect(res.headers["keep-alive"]).not.toBe("timeout=7, max=99");
    expect(res.headers["x-backend"]).toBe("a");
  });

  test("forwarding fields replace what a client sent; Host passes through, or host_header", async () => {
    const res = await fetch(`${postern.url}/a/fwd`, { headers: { "x-forwarded-for": "6.6.6.6", forwarded: "for=6.6.6.6", "x-forwarded-proto": "https" } });
    const seen = (await res.json()) as Seen;
    const host = new URL(postern.url).host;
    expect(seen.headers).toMatchObject({
      host,
      "x-forwarded-for": "127.0.0.1",
      "x-forwarded-proto": "http",
      "x-forwarded-host": host,
      forwarded: `for=127.0.0.1;host="${host}";proto=http`,
    });
    const set = (await (await fetch(`${postern.url}/host/x`)).json()) as Seen;
    expect(set.headers.host).toBe("backend.internal");
    expect(set.headers["x-forwarded-host"]).toBe(host);
  });

  test("round_robin spreads requests; a killed backend leaves the other serving", async () => {
    const names = [];
    for (let i = 0; i < 4; i++) names.push(((await (await fetch(`${postern.url}/both/x`)).json()) as Seen).name);
    expect(names.sort()).toEqual(["a", "a", "b", "b"]);
  });

  test("a 4xx answer passes through with its body", async () => {
    const res = await fetch(`${postern.url}/a/x?status=404`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as Seen).url).toBe("/a/x?status=404");
  });

  test("a streamed (chunked) 64 MiB answer arrives whole", async () => {
    const res = await fetch(`${postern.url}/a/stream?mb=64`);
    expect((await res.arrayBuffer()).byteLength).toBe(64 * MiB);
  });
});

describe("proxy balancing and health with backends going down", () => {
  let a: Backend;
  let b: Backend;
  let postern: RunningPostern;

  beforeAll(async () => {
    [a, b] = await Promise.all([startBackend("a"), startBackend("b")]);
    postern = await startPostern(
      [
        route("/pair/*", [`http://127.0.0.1:${a.port}`, `http://127.0.0.1:${b.port}`], ['balance = "round_robin"']),
        route("/checked/*", [`http://127.0.0.1:${a.port}`, `http://127.0.0.1:${b.port}`], ['health = { path = "/health", interval = "200ms", timeout = "2s", fails = 1 }']),
        // Port 9 (discard) on loopback: nothing listens there.
        route("/dead/*", ["http://127.0.0.1:9", "unix:/nonexistent/postern-test.sock"]),
      ].join("\n"),
    );
  });

  afterAll(async () => {
    await postern?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("every backend down: 502 at once", async () => {
    const started = Date.now();
    for (let i = 0; i < 3; i++) expect((await fetch(`${postern.url}/dead/x`)).status).toBe(502);
    // Refused connections, not timeouts: well under connect_timeout (5 s).
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  test("a backend killed: the other serves every request, GETs included that were on their way to it", async () => {
    // Warm both backends' kept connections, then kill b.
    for (let i = 0; i < 4; i++) expect((await fetch(`${postern.url}/pair/x`)).status).toBe(200);
    await b.stop();
    const names = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${postern.url}/pair/x`);
      expect(res.status).toBe(200);
      names.push(((await res.json()) as Seen).name);
    }
    expect(new Set(names)).toEqual(new Set(["a"]));
    await expect.poll(() => postern.errors.some((line) => /127\.0\.0\.1:\d+/.test(line)), { timeout: 5_000 }).toBe(true);
  });

  test("health checks keep requests off a backend that is down", async () => {
    // b is down since the test above: the checks have taken it out.
    await new Promise((resolve) => setTimeout(resolve, 600));
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${postern.url}/checked/x`);
      const body = await res.text();
      expect(res.status, `${body} ${postern.errors.join("\n")}`).toBe(200);
      expect((JSON.parse(body) as Seen).name).toBe("a");
    }
  });
});

describe("forwarding fields behind a trusted proxy", () => {
  let a: Backend;
  let postern: RunningPostern;

  beforeAll(async () => {
    a = await startBackend("a");
    postern = await startPostern(`trusted_proxies = ["127.0.0.1"]\n${route("/*", [`http://127.0.0.1:${a.port}`])}`);
  });

  afterAll(async () => {
    await postern?.stop();
    await a?.stop();
  });

  test("this hop is appended to what the trusted proxy sent; its proto and host are kept", async () => {
    const res = await fetch(`${postern.url}/x`, {
      headers: { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https", "x-forwarded-host": "example.org", forwarded: 'for=203.0.113.7;proto=https;host="example.org"' },
    });
    const seen = (await res.json()) as Seen;
    expect(seen.headers).toMatchObject({
      "x-forwarded-for": "203.0.113.7, 127.0.0.1",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "example.org",
      forwarded: `for=203.0.113.7;proto=https;host="example.org", for=127.0.0.1;host="${new URL(postern.url).host}";proto=http`,
    });
  });
});

describe("proxy route keys", () => {
  test.each([
    ["https://127.0.0.1:3000", /TLS to backends/],
    ["http://127.0.0.1:3000/base", /no path after the address/],
    ["http://", /not an address/],
    ["ftp://x:1", /not an address/],
  ])("backend %s is refused", (backend, message) => {
    expect(() => createGateway("proxy", nodeRuntime, { backend })).toThrow(message);
  });

  test("http:// without a port is port 80; unix sockets are taken", () => {
    for (const backend of ["http://127.0.0.1", "http://[::1]:8080", "unix:/run/app.sock", "127.0.0.1:3000"]) {
      const handler = createGateway("proxy", nodeRuntime, { backend });
      void handler.close();
    }
  });

  test("a host_header with a space is refused", () => {
    expect(() => createGateway("proxy", nodeRuntime, { backend: "127.0.0.1:1", host_header: "a b" })).toThrow(/host_header/);
  });
});
