// HTTPS listen addresses through the real CLI on Node, Deno and Bun, with
// certificates made by openssl and real clients (curl, Node's fetch, openssl
// s_client, a TLS socket): HTTP/2 by ALPN where the runtime offers it, TLS
// 1.1 refused, what php-fpm sees (HTTPS, REQUEST_SCHEME, lighttpd's SSL_*),
// client certificates, SNI, certificates reloaded on SIGHUP, and
// redirect_https. What a runtime's TLS server cannot do is pinned
// (docs/tls.md), so that a change is noticed.

import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect as http2Connect } from "node:http2";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type CliRuntime, type Served } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { stopProcessGroup } from "./helpers/server-process.ts";
import { makeCertificates, presentedSubject, type TestCertificates } from "./helpers/tls-certs.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const CURL = requireBinary(["curl"], "curl");
const PHP_ROOT = join(import.meta.dirname, "fixtures/php");

/** What each runtime's TLS server does (docs/tls.md). */
const CAN: Record<CliRuntime, { h2: boolean; sslVariables: boolean; clientAuth: boolean; sni: boolean; reloadKeepsIdle: boolean }> = {
  node: { h2: true, sslVariables: true, clientAuth: true, sni: true, reloadKeepsIdle: true },
  deno: { h2: true, sslVariables: false, clientAuth: false, sni: false, reloadKeepsIdle: false },
  bun: { h2: false, sslVariables: false, clientAuth: true, sni: true, reloadKeepsIdle: false },
};

let certs: TestCertificates;
let fpm: PhpFpm | undefined;

beforeAll(async () => {
  certs = makeCertificates();
  mkdirSync(join(certs.dir, "www"));
  writeFileSync(join(certs.dir, "www/index.html"), "hello\n");
  if (PHP_FPM) fpm = await startPhpFpm(PHP_FPM);
});

afterAll(async () => {
  await fpm?.stop();
  certs?.remove();
});

interface Setup {
  /** Lines of the [tls] table after cert and key. */
  tls?: string[];
  /** Top-level lines. */
  top?: string[];
  /** Certificate files of [tls] (copied, so that a test may replace them). */
  pair?: string;
}

/** postern serving www/ (static) and env.php (php-fpm) on an https:// and a plain address. */
async function serveTls(runtime: CliRuntime, setup: Setup = {}): Promise<{ served: Served; https: number; http: number; dir: string }> {
  const https = await freePort();
  const http = await freePort();
  const dir = join(certs.dir, `run-${runtime}-${https}`);
  mkdirSync(dir);
  copyFileSync(certs.path(`${setup.pair ?? "server"}.pem`), join(dir, "cert.pem"));
  copyFileSync(certs.path(`${setup.pair ?? "server"}.key`), join(dir, "key.pem"));
  const config = [
    `listen = ["https://127.0.0.1:${https}", "127.0.0.1:${http}"]`,
    "access_log = \"off\"",
    ...(setup.top ?? []),
    "[tls]",
    'cert = "cert.pem"',
    'key = "key.pem"',
    ...(setup.tls ?? []),
    ...(fpm ? ["[[routes]]", 'path = "/env.php"', 'gateway = "fastcgi"', `backend = "127.0.0.1:${fpm.port}"`, `root = "${PHP_ROOT}"`] : []),
    "[[routes]]",
    'gateway = "static"',
    `root = "${certs.dir}/www"`,
    "",
  ].join("\n");
  writeFileSync(join(dir, "postern.toml"), config);
  const served = await startPostern(["serve", "-c", join(dir, "postern.toml")], { runtime });
  return { served, https, http, dir };
}

function curl(args: string[]): { status: number; out: string; err: string } {
  const r = spawnSync(CURL!, ["-sS", "--max-time", "20", ...args], { encoding: "utf8" });
  return { status: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** GET over a TLS socket kept open, HTTP/1.1 keep-alive: each call one request on the same connection. */
async function keptConnection(port: number, ca: string): Promise<{ get(path: string): Promise<string>; socket: TLSSocket }> {
  const socket = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ca: readFileSync(ca, "utf8"), ALPNProtocols: ["http/1.1"] });
  await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
  let received = "";
  socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
  return {
    socket,
    get: async (path) => {
      received = "";
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      const deadline = Date.now() + 15_000;
      while (!/\r\n\r\n[\s\S]*hello\n$/.test(received)) {
        if (socket.destroyed || Date.now() > deadline) return received || "(closed)";
        await new Promise((r) => setTimeout(r, 10));
      }
      return received;
    },
  };
}

/** True when `conn` closes within `ms`, false if it is still open then. */
function closesWithin(conn: { once(event: "close", listener: () => void): unknown }, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    conn.once("close", () => (clearTimeout(timer), resolve(true)));
  });
}

async function signalAndWait(served: Served, line: RegExp): Promise<void> {
  process.kill(served.proc.pid!, "SIGHUP");
  const deadline = Date.now() + 20_000;
  while (!line.test(served.stderr())) {
    if (Date.now() > deadline) throw new Error(`no ${line} in: ${served.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!CURL).each(["node", "deno", "bun"] as const)("TLS on %s", (runtime) => {
  const can = CAN[runtime];
  let run: Awaited<ReturnType<typeof serveTls>>;
  beforeAll(async () => {
    run = await serveTls(runtime, { top: ["redirect_https = true", 'trusted_proxies = ["127.0.0.2"]'] });
  }, 60_000);
  afterAll(async () => {
    if (run) await stopProcessGroup(run.served.proc, "SIGTERM");
  });

  test("says it listens on https://", () => {
    expect(run.served.stdout()).toContain(`postern listening on https://127.0.0.1:${run.https}/`);
  });

  test(`curl --http2 gets the file over ${can.h2 ? "HTTP/2" : "HTTP/1.1 (no h2 in ALPN)"}`, () => {
    const r = curl(["--http2", "--cacert", certs.path("ca.pem"), "-w", "\n%{http_version}", `https://127.0.0.1:${run.https}/index.html`]);
    expect(r.err).toBe("");
    expect(r.out).toBe(`hello\n\n${can.h2 ? "2" : "1.1"}`);
  });

  test("curl --http1.1 gets the file over HTTP/1.1", () => {
    const r = curl(["--http1.1", "--cacert", certs.path("ca.pem"), "-w", "\n%{http_version}", `https://127.0.0.1:${run.https}/index.html`]);
    expect(r.out).toBe("hello\n\n1.1");
  });

  test("Node's fetch trusts it with the CA (NODE_EXTRA_CA_CERTS)", () => {
    const r = spawnSync(process.execPath, ["-e", `fetch("https://localhost:${run.https}/index.html").then(async (r) => console.log(r.status, await r.text()))`], {
      encoding: "utf8",
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certs.path("ca.pem") },
      timeout: 20_000,
    });
    expect(r.stdout).toBe("200 hello\n\n");
  });

  test("TLS 1.1 is refused, TLS 1.2 and 1.3 are taken", () => {
    // The client's own floor lowered (SECLEVEL=0), so that it is the server that refuses.
    const old = presentedSubject(run.https, "localhost", ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
    expect(old.status).not.toBe(0);
    expect(old.output).toMatch(/alert (protocol version|handshake failure)/);
    for (const version of ["-tls1_2", "-tls1_3"]) expect(presentedSubject(run.https, "localhost", [version]).subject).toContain("CN = localhost");
  });

  test.skipIf(!PHP_FPM)("php-fpm sees HTTPS=on, REQUEST_SCHEME=https and, where the runtime tells, SSL_PROTOCOL and SSL_CIPHER", () => {
    const r = curl(["--http1.1", "--cacert", certs.path("ca.pem"), `https://localhost:${run.https}/env.php`]);
    const server = (JSON.parse(r.out) as { server: Record<string, string> }).server;
    expect(server).toMatchObject({ HTTPS: "on", REQUEST_SCHEME: "https", SERVER_PORT: String(run.https), HTTP_HOST: `localhost:${run.https}` });
    if (can.sslVariables) {
      expect(server.SSL_PROTOCOL).toBe("TLSv1.3");
      expect(server.SSL_CIPHER).toMatch(/^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/);
    } else {
      expect(server.SSL_PROTOCOL).toBeUndefined();
    }
  });

  test.skipIf(!PHP_FPM || !can.h2)("php-fpm sees the Host of an HTTP/2 request (from :authority) and SERVER_PROTOCOL HTTP/2.0", () => {
    const r = curl(["--http2", "--cacert", certs.path("ca.pem"), `https://localhost:${run.https}/env.php`]);
    const server = (JSON.parse(r.out) as { server: Record<string, string> }).server;
    expect(server).toMatchObject({ HTTPS: "on", HTTP_HOST: `localhost:${run.https}`, SERVER_NAME: "localhost" });
    expect(server.SERVER_PROTOCOL).toMatch(/^HTTP\/2(\.0)?$/);
  });

  test.skipIf(!can.h2)("an HTTP/2 request over max_headers is refused with 431, as an HTTP/1.1 one is", () => {
    const many = Array.from({ length: 150 }, (_, i) => ["-H", `X-Field-${i}: ${i}`]).flat();
    const r = curl(["--http2", "--cacert", certs.path("ca.pem"), "-o", "/dev/null", "-w", "%{http_version} %{http_code}", ...many, `https://localhost:${run.https}/index.html`]);
    expect(r.out).toBe("2 431");
  });

  test("redirect_https: the plain address answers 308 to the https one, path and query kept", () => {
    const r = curl(["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", `http://localhost:${run.http}/a/b.html?x=1&y=%20`]);
    expect(r.out).toBe(`308 https://localhost:${run.https}/a/b.html?x=1&y=%20`);
    // Followed, it lands on the file over TLS.
    const followed = curl(["-L", "--cacert", certs.path("ca.pem"), `http://localhost:${run.http}/index.html`]);
    expect(followed.out).toBe("hello\n");
  });

  test("redirect_https: a request a trusted proxy says came over HTTPS is served; from another peer, redirected", () => {
    const from = (address: string) =>
      curl(["--interface", address, "-H", "X-Forwarded-Proto: https", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${run.http}/index.html`]).out;
    expect(from("127.0.0.2")).toBe("200");
    expect(from("127.0.0.1")).toBe("308");
  });

  test(`SIGHUP: new connections get the renewed certificate${can.reloadKeepsIdle ? ", an open keep-alive connection goes on" : ""}`, async () => {
    const own = await serveTls(runtime);
    try {
      const kept = await keptConnection(own.https, certs.path("ca.pem"));
      expect(await kept.get("/index.html")).toMatch(/^HTTP\/1.1 200/);
      expect(presentedSubject(own.https, "localhost").subject).toMatch(/O = postern, CN = localhost/);
      copyFileSync(certs.path("renewed.pem"), join(own.dir, "cert.pem"));
      copyFileSync(certs.path("renewed.key"), join(own.dir, "key.pem"));
      await signalAndWait(own.served, /certificates reloaded/);
      expect(presentedSubject(own.https, "localhost").subject).toMatch(/O = postern renewed, CN = localhost/);
      if (can.reloadKeepsIdle) expect(await kept.get("/index.html")).toMatch(/^HTTP\/1.1 200/);
      kept.socket.destroy();
      // A key that does not load leaves the running certificate in place.
      writeFileSync(join(own.dir, "key.pem"), "not a key\n");
      await signalAndWait(own.served, /certificates: .* the running ones stay/);
      expect(presentedSubject(own.https, "localhost").subject).toMatch(/O = postern renewed/);
    } finally {
      await stopProcessGroup(own.served.proc, "SIGTERM");
    }
  }, 60_000);

  test.skipIf(runtime !== "node")("header_timeout holds on HTTPS too: a head still incomplete after it gets 408 (slowloris over TLS)", async () => {
    const own = await serveTls(runtime, { top: ["[client]", 'header_timeout = "2s"'] });
    try {
      const socket = tlsConnect({ host: "127.0.0.1", port: own.https, servername: "localhost", ca: readFileSync(certs.path("ca.pem"), "utf8"), ALPNProtocols: ["http/1.1"] });
      let received = "";
      socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
      await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
      socket.write("GET /index.html HTTP/1.1\r\nHost: localhost\r\n");
      expect(await closesWithin(socket, 20_000)).toBe(true);
      expect(received).toMatch(/^HTTP\/1.1 408 /);
    } finally {
      await stopProcessGroup(own.served.proc, "SIGTERM");
    }
  }, 60_000);

  test.skipIf(runtime !== "node")("keepalive_timeout closes an idle HTTP/2 connection (GOAWAY)", async () => {
    const own = await serveTls(runtime, { top: ["[client]", 'keepalive_timeout = "1s"'] });
    try {
      const session = http2Connect(`https://localhost:${own.https}`, { ca: readFileSync(certs.path("ca.pem"), "utf8") });
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ":path": "/index.html" });
        stream.on("response", (headers) => resolve(headers[":status"] as number)).on("error", reject);
        stream.resume();
      });
      expect(status).toBe(200);
      expect(await closesWithin(session, 20_000)).toBe(true);
    } finally {
      await stopProcessGroup(own.served.proc, "SIGTERM");
    }
  }, 60_000);

  test(`client_auth = "require" ${can.clientAuth ? "refuses a client without a certificate and lets one with it in" : "is refused at start"}`, async () => {
    if (!can.clientAuth) {
      await expect(serveTls(runtime, { tls: [`ca = "${certs.path("ca.pem")}"`, 'client_auth = "require"'] })).rejects.toThrow(/cannot ask for client certificates/);
      return;
    }
    const own = await serveTls(runtime, { tls: [`ca = "${certs.path("ca.pem")}"`, 'client_auth = "require"'] });
    try {
      const without = curl(["--cacert", certs.path("ca.pem"), `https://localhost:${own.https}/index.html`]);
      expect(without.status).not.toBe(0);
      expect(without.out).toBe("");
      const withCert = curl(["--cacert", certs.path("ca.pem"), "--cert", certs.path("client.pem"), "--key", certs.path("client.key"), `https://localhost:${own.https}/index.html`]);
      expect(withCert.out).toBe("hello\n");
      const selfSigned = curl(["--cacert", certs.path("ca.pem"), "--cert", certs.path("rogue.pem"), "--key", certs.path("rogue.key"), `https://localhost:${own.https}/index.html`]);
      expect(selfSigned.out).toBe("");
      if (fpm && can.sslVariables) {
        const env = curl(["--cacert", certs.path("ca.pem"), "--cert", certs.path("client.pem"), "--key", certs.path("client.key"), `https://localhost:${own.https}/env.php`]);
        const server = (JSON.parse(env.out) as { server: Record<string, string> }).server;
        expect(server).toMatchObject({
          SSL_CLIENT_VERIFY: "SUCCESS",
          SSL_CLIENT_S_DN: "/C=DE/O=postern/CN=alice",
          SSL_CLIENT_S_DN_CN: "alice",
          SSL_CLIENT_S_DN_O: "postern",
          SSL_CLIENT_I_DN: "/CN=postern test CA",
        });
        expect(server.SSL_CLIENT_M_SERIAL).toMatch(/^[0-9A-F]+$/);
      }
    } finally {
      await stopProcessGroup(own.served.proc, "SIGTERM");
    }
  }, 60_000);

  test(`[[tls.certs]] ${can.sni ? "picks the certificate by SNI (openssl s_client -servername, curl --resolve)" : "is refused at start"}`, async () => {
    const sni = { tls: ["[[tls.certs]]", 'host = ["other.test", "*.wild.test"]', `cert = "${certs.path("other.pem")}"`, `key = "${certs.path("other.key")}"`] };
    if (!can.sni) {
      await expect(serveTls(runtime, sni)).rejects.toThrow(/presents one certificate only/);
      return;
    }
    const own = await serveTls(runtime, sni);
    try {
      expect(presentedSubject(own.https, "other.test").subject).toMatch(/CN = other.test/);
      expect(presentedSubject(own.https, "x.wild.test").subject).toMatch(/CN = other.test/);
      // nginx's "*.example.org" covers names of more labels too; Bun's SNI match covers one label only.
      expect(presentedSubject(own.https, "a.b.wild.test").subject).toMatch(runtime === "bun" ? /CN = localhost/ : /CN = other.test/);
      expect(presentedSubject(own.https, "localhost").subject).toMatch(/O = postern, CN = localhost/);
      expect(presentedSubject(own.https, "unknown.test").subject).toMatch(/CN = localhost/);
      const r = curl(["--resolve", `other.test:${own.https}:127.0.0.1`, "--cacert", certs.path("ca.pem"), `https://other.test:${own.https}/index.html`]);
      expect(r.out).toBe("hello\n");
    } finally {
      await stopProcessGroup(own.served.proc, "SIGTERM");
    }
  }, 60_000);

  test.skipIf(can.sslVariables || !can.clientAuth)('client_auth = "request" is refused at start: the backend could not tell who gave a certificate', async () => {
    await expect(serveTls(runtime, { tls: [`ca = "${certs.path("ca.pem")}"`, 'client_auth = "request"'] })).rejects.toThrow(/cannot tell the backend/);
  });

  test.skipIf(!can.sslVariables || !PHP_FPM)('client_auth = "request": a client without a certificate gets in, and the backend sees SSL_CLIENT_VERIFY=NONE', async () => {
    const own = await serveTls(runtime, { tls: [`ca = "${certs.path("ca.pem")}"`, 'client_auth = "request"'] });
    try {
      const env = curl(["--cacert", certs.path("ca.pem"), `https://localhost:${own.https}/env.php`]);
      expect((JSON.parse(env.out) as { server: Record<string, string> }).server.SSL_CLIENT_VERIFY).toBe("NONE");
    } finally {
      await stopProcessGroup(own.served.proc, "SIGTERM");
    }
  }, 60_000);
});
