// The FastCGI gateway against a real php-fpm 8.2: what PHP sees, what the
// client gets back, and how failures of the backend are answered.

import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const ROOT = join(import.meta.dirname, "fixtures/php");

interface EnvDump {
  server: Record<string, string>;
  get: Record<string, string>;
  post: Record<string, string>;
  cookie: Record<string, string>;
  body_length: number;
  body_md5: string;
}

async function json(res: Response): Promise<EnvDump> {
  expect(res.status).toBe(200);
  return (await res.json()) as EnvDump;
}

describe.skipIf(!PHP_FPM)("fastcgi gateway with php-fpm", () => {
  let fpm: PhpFpm;
  let unix: RunningPostern;
  let tcp: RunningPostern;

  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!);
    unix = await startPostern(`
[[routes]]
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${ROOT}"
first_byte_timeout = "1500ms"
max_buffered_body = "1m"
max_body_size = "64m"
`);
    tcp = await startPostern(`
[[routes]]
path = "/app/*"
gateway = "fastcgi"
backend = "127.0.0.1:${fpm.port}"
root = "${ROOT}"
front_controller = "/index.php"

[[routes]]
gateway = "fastcgi"
backend = "tcp://127.0.0.1:${fpm.port}"
root = "${ROOT}"
`);
  });

  afterAll(async () => {
    await unix?.stop();
    await tcp?.stop();
    await fpm?.stop();
  });

  test("HEAD to an endless answer: the head at once, the rest dropped within a bound, every php-fpm child free again", async () => {
    // More HEADs than the pool has children: each child must be let go.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${unix.url}/endless.php`, { method: "HEAD", signal: AbortSignal.timeout(20_000) });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/plain;charset=UTF-8");
    }
    const hello = await fetch(`${unix.url}/hello.php`, { signal: AbortSignal.timeout(20_000) });
    expect(hello.status).toBe(200);
  });

  test("GET: $_SERVER has the CGI variables", async () => {
    const { server, get } = await json(await fetch(`${unix.url}/env.php?a=1&b=two%20words`));
    expect(server).toMatchObject({
      GATEWAY_INTERFACE: "CGI/1.1",
      REQUEST_METHOD: "GET",
      SCRIPT_NAME: "/env.php",
      SCRIPT_FILENAME: `${ROOT}/env.php`,
      DOCUMENT_ROOT: ROOT,
      REQUEST_URI: "/env.php?a=1&b=two%20words",
      QUERY_STRING: "a=1&b=two%20words",
      REMOTE_ADDR: "127.0.0.1",
      SERVER_PROTOCOL: "HTTP/1.1",
      REDIRECT_STATUS: "200",
    });
    expect(server.PATH_INFO).toBeUndefined();
    expect(get).toEqual({ a: "1", b: "two words" });
  });

  test("GET over TCP", async () => {
    const { server } = await json(await fetch(`${tcp.url}/env.php`));
    expect(server.SCRIPT_NAME).toBe("/env.php");
  });

  test("PATH_INFO after the script", async () => {
    const { server } = await json(await fetch(`${unix.url}/env.php/a/b%20c`));
    expect(server).toMatchObject({
      SCRIPT_NAME: "/env.php",
      PATH_INFO: "/a/b c",
      PATH_TRANSLATED: `${ROOT}/a/b c`,
      PHP_SELF: "/env.php/a/b c",
    });
  });

  test("POST form", async () => {
    const res = await fetch(`${unix.url}/env.php`, { method: "POST", body: new URLSearchParams({ name: "postern", n: "2" }) });
    const { post, server } = await json(res);
    expect(post).toEqual({ name: "postern", n: "2" });
    expect(server.CONTENT_TYPE).toBe("application/x-www-form-urlencoded;charset=UTF-8");
    expect(server.CONTENT_LENGTH).toBe("16");
  });

  test("20 MiB streamed POST arrives whole", async () => {
    const body = new Uint8Array(20 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4096) body[i] = i % 251;
    const { body_length, body_md5 } = await json(
      await fetch(`${unix.url}/env.php`, { method: "POST", body, headers: { "content-type": "application/octet-stream" } }),
    );
    expect(body_length).toBe(body.length);
    expect(body_md5).toBe(createHash("md5").update(body).digest("hex"));
  });

  test("chunked POST gets a CONTENT_LENGTH", async () => {
    const parts = ["hello ", "chunked ", "world"];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = parts.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await fetch(`${unix.url}/env.php`, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    const { server, body_length } = await json(res);
    expect(body_length).toBe(19);
    expect(server.CONTENT_LENGTH).toBe("19");
  });

  test("a chunked body over max_buffered_body goes through a temporary file and arrives whole", async () => {
    const body = randomBytes(2 * 1024 * 1024);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= body.byteLength) return controller.close();
        controller.enqueue(body.subarray(sent, sent + 65536));
        sent += 65536;
      },
    });
    const res = await fetch(`${unix.url}/env.php`, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    const { server, body_length, body_md5 } = await json(res);
    expect(body_length).toBe(body.byteLength);
    expect(body_md5).toBe(createHash("md5").update(body).digest("hex"));
    expect(server.CONTENT_LENGTH).toBe(String(body.byteLength));
  });

  test("Content-Length over max_body_size -> 413", async () => {
    const res = await fetch(`${unix.url}/env.php`, { method: "POST", body: new Uint8Array(65 * 1024 * 1024) });
    expect(res.status).toBe(413);
  });

  test("cookies reach $_COOKIE", async () => {
    const { cookie, server } = await json(await fetch(`${unix.url}/env.php`, { headers: { cookie: "a=1; b=two" } }));
    expect(cookie).toEqual({ a: "1", b: "two" });
    expect(server.HTTP_COOKIE).toBe("a=1; b=two");
  });

  test("keeps repeated Set-Cookie", async () => {
    const res = await fetch(`${unix.url}/headers.php?cookies=1`);
    expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2", "c=3; Path=/"]);
  });

  test("Status from the script", async () => {
    const res = await fetch(`${unix.url}/headers.php?status=418`);
    expect(res.status).toBe(418);
    expect(res.headers.get("x-custom")).toBe("yes");
  });

  test("Location from the script is a redirect to the client", async () => {
    const res = await fetch(`${unix.url}/headers.php?location=/elsewhere`, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/elsewhere");
  });

  test("HEAD: headers, no body, connection stays usable", async () => {
    const res = await fetch(`${unix.url}/big.php?mb=1`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    expect((await fetch(`${unix.url}/hello.php`)).status).toBe(200);
  });

  test("10 MiB response streams whole", async () => {
    const res = await fetch(`${unix.url}/big.php?mb=10`);
    expect((await res.arrayBuffer()).byteLength).toBe(10 * 1024 * 1024);
  });

  test("STDERR goes to the error log", async () => {
    expect(await (await fetch(`${unix.url}/stderr.php`)).text()).toBe("ok\n");
    expect(unix.errors.join("\n")).toContain("something went wrong in the script");
  });

  test("uploaded jpg is never run", async () => {
    for (const path of ["/uploads/a.jpg/x.php", "/uploads/a.jpg", "/uploads/a.jpg/"]) {
      const res = await fetch(`${unix.url}${path}`);
      expect(await res.text()).not.toContain("PWNED");
      expect(res.status).toBe(404);
    }
  });

  test("newline in the path -> 400 (CVE-2019-11043)", async () => {
    expect((await fetch(`${unix.url}/env.php/%0a`)).status).toBe(400);
  });

  test("missing script -> 404", async () => {
    expect((await fetch(`${unix.url}/nothing.php`)).status).toBe(404);
  });

  test("directory index", async () => {
    expect(await (await fetch(`${unix.url}/sub/`)).text()).toBe("sub index");
  });

  test("front controller keeps REQUEST_URI and an empty PATH_INFO", async () => {
    const res = await fetch(`${tcp.url}/app/some/route?x=1`);
    expect(await res.json()).toEqual({
      front: true,
      SCRIPT_NAME: "/index.php",
      PATH_INFO: null,
      REQUEST_URI: "/app/some/route?x=1",
      QUERY_STRING: "x=1",
    });
  });

  test("a script sleeping past first_byte_timeout -> 504", async () => {
    const res = await fetch(`${unix.url}/sleep.php?ms=3000`);
    expect(res.status).toBe(504);
    expect((await fetch(`${unix.url}/hello.php`)).status).toBe(200);
  });

  test("php-fpm child killed mid-request -> 502 (a POST is never sent again), and the next request works", async () => {
    const pidfile = join(fpm.dir, "worker.pid");
    const pending = fetch(`${unix.url}/sleep.php?ms=1000&pidfile=${encodeURIComponent(pidfile)}`, { method: "POST", body: "x=1" });
    const { readFileSync, existsSync } = await import("node:fs");
    const deadline = Date.now() + 5000;
    while (!existsSync(pidfile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    process.kill(Number(readFileSync(pidfile, "utf8")), "SIGKILL");
    expect((await pending).status).toBe(502);
    expect((await fetch(`${unix.url}/hello.php`)).status).toBe(200);
  });

  test("64 concurrent requests against 2 children -> all 200", async () => {
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) => fetch(`${tcp.url}/sleep.php?ms=${i % 4 === 0 ? 30 : 1}`).then((r) => r.status)),
    );
    expect(results.filter((s) => s !== 200)).toEqual([]);
  });
});
