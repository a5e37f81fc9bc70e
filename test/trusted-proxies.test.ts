// trusted_proxies end to end: a real php-fpm and a CGI script see the client
// behind a trusted proxy (REMOTE_ADDR, HTTPS, SERVER_PORT...), the access
// log names it, and a peer that is not trusted changes nothing by sending
// the same fields.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it, test } from "vitest";
import { configWarnings, createApp, gatewaySchemas } from "../gateways/index.ts";
import { parseConfig } from "../src/config.ts";
import type { Runtime } from "../src/runtime.ts";
import { cgi, trustedProxies } from "../runtimes/node/index.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { serve, type RunningServer } from "../runtimes/node/serve.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { parseShellReport } from "./helpers/cgi-fixtures.ts";
import { startNginxServer, type Nginx } from "./helpers/nginx.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { freePort } from "./helpers/ports.ts";
import { spawnPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { buildRequest, rawRequest } from "./helpers/raw-http.ts";
import { readmeBlock, substitute } from "./helpers/readme.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");
const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");

interface Gateway {
  url: string;
  access: string[];
  stop(): Promise<void>;
}

/** postern on Node with `trusted` as trusted_proxies (and `top` as further top-level keys): /php/* to php-fpm's env.php, /cgi/* to env.sh. */
async function start(trusted: string[], phpPort: number, top = ""): Promise<Gateway> {
  const access: string[] = [];
  const runtime: Runtime = { ...nodeRuntime, logAccess: (line) => access.push(line), logError: () => undefined };
  const toml = `listen = ["127.0.0.1:0"]
trusted_proxies = ${JSON.stringify(trusted)}
${top}

[[routes]]
path = "/php/*"
gateway = "fastcgi"
backend = "127.0.0.1:${phpPort}"
root = ${JSON.stringify(FIXTURES)}

[[routes]]
path = "/cgi/*"
gateway = "cgi"
root = ${JSON.stringify(FIXTURES)}
interpreters = { ".sh" = "sh" }
`;
  const app = createApp(parseConfig(toml, "test.toml", gatewaySchemas), runtime, FIXTURES);
  await app.ready;
  const server = await serve(app.app, { listen: ["127.0.0.1:0"] });
  const addr = server.addresses[0]!;
  if (addr.kind !== "tcp") throw new Error("expected a TCP address");
  return {
    url: `http://127.0.0.1:${addr.port}`,
    access,
    async stop() {
      await server.close();
      await app.close();
    },
  };
}

async function phpServer(base: string, headers: Record<string, string>): Promise<Record<string, string>> {
  const res = await fetch(`${base}/php/env.php`, { headers });
  expect(res.status).toBe(200);
  return ((await res.json()) as { server: Record<string, string> }).server;
}

async function cgiEnv(base: string, headers: Record<string, string>): Promise<Record<string, string>> {
  const res = await fetch(`${base}/cgi/env.sh`, { headers });
  expect(res.status).toBe(200);
  return parseShellReport(await res.text()).values;
}

let fpm: PhpFpm;
beforeAll(async () => {
  if (!PHP_FPM) throw new Error("php-fpm is not installed (apt-get install php-fpm)");
  fpm = await startPhpFpm(PHP_FPM);
}, 30_000);
afterAll(() => fpm?.stop());

describe("behind a trusted proxy (127.0.0.1 trusted)", () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await start(["10.0.0.0/8", "127.0.0.1", "::1"], fpm.port);
  });
  afterAll(() => gateway?.stop());

  it("X-Forwarded-For gives REMOTE_ADDR to php-fpm", async () => {
    const server = await phpServer(gateway.url, { "X-Forwarded-For": "203.0.113.7" });
    expect(server).toMatchObject({ REMOTE_ADDR: "203.0.113.7", REMOTE_PORT: "0", HTTP_X_FORWARDED_FOR: "203.0.113.7" });
  });

  it("a spoofed leftmost item loses: the rightmost untrusted address is the client", async () => {
    const server = await phpServer(gateway.url, { "X-Forwarded-For": "1.1.1.1, 203.0.113.7, 10.0.0.5" });
    expect(server.REMOTE_ADDR).toBe("203.0.113.7");
  });

  it("X-Forwarded-Proto: https ends the WordPress redirect loop: HTTPS=on, REQUEST_SCHEME=https, SERVER_PORT=443", async () => {
    const server = await phpServer(gateway.url, { "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https" });
    expect(server).toMatchObject({ HTTPS: "on", REQUEST_SCHEME: "https", SERVER_PORT: "443", REMOTE_ADDR: "203.0.113.7" });
  });

  it("X-Forwarded-Port gives SERVER_PORT", async () => {
    const server = await phpServer(gateway.url, { "X-Forwarded-Proto": "https", "X-Forwarded-Port": "8443" });
    expect(server).toMatchObject({ HTTPS: "on", SERVER_PORT: "8443", REMOTE_ADDR: "127.0.0.1" });
  });

  it("Forwarded is not read: a proxy that sets X-Forwarded-For passes a client's own on", async () => {
    const server = await phpServer(gateway.url, { Forwarded: "for=6.6.6.6;proto=https" });
    expect(server).toMatchObject({ REMOTE_ADDR: "127.0.0.1", REQUEST_SCHEME: "http", HTTP_FORWARDED: "for=6.6.6.6;proto=https" });
    expect(server.HTTPS).toBeUndefined();
  });

  it("a malformed field is ignored, never a 500", async () => {
    const port = await phpServer(gateway.url, { "X-Forwarded-Proto": "gopher", "X-Forwarded-Port": "x" });
    expect(port.HTTPS).toBeUndefined();
    expect(port.SERVER_PORT).toBe(new URL(gateway.url).port);
    const garbage = await phpServer(gateway.url, { "X-Forwarded-For": "<script>, ]]::" });
    expect(garbage.REMOTE_ADDR).toBe("127.0.0.1");
  });

  it("a CGI script sees the client too", async () => {
    const env = await cgiEnv(gateway.url, { "X-Forwarded-For": "198.51.100.3", "X-Forwarded-Proto": "https" });
    expect(env).toMatchObject({ REMOTE_ADDR: "198.51.100.3", HTTPS: "on", SERVER_PORT: "443", REQUEST_SCHEME: "https" });
  });

  it("the access log names the client, as nginx logs $remote_addr after realip", async () => {
    await phpServer(gateway.url, { "X-Forwarded-For": "192.0.2.99" });
    expect(gateway.access.some((line) => line.startsWith("192.0.2.99 - - ["))).toBe(true);
  });
});

describe('real_ip_header = "Forwarded" (127.0.0.1 trusted)', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await start(["127.0.0.1"], fpm.port, 'real_ip_header = "Forwarded"');
  });
  afterAll(() => gateway?.stop());

  it("Forwarded (RFC 7239) with a bracketed IPv6 node and its port", async () => {
    const server = await phpServer(gateway.url, { Forwarded: 'for="[2001:db8::7]:4711";proto=https;host=example.com' });
    expect(server).toMatchObject({ REMOTE_ADDR: "2001:db8::7", REMOTE_PORT: "4711", HTTPS: "on", REQUEST_SCHEME: "https" });
    // host= changes no Host: HTTP_HOST is what the proxy sent.
    expect(server.HTTP_HOST).toMatch(/^127\.0\.0\.1:/);
  });

  it("a malformed Forwarded is ignored, never a 500", async () => {
    const server = await phpServer(gateway.url, { Forwarded: 'for="203.0.113.7;proto=https' });
    expect(server).toMatchObject({ REMOTE_ADDR: "127.0.0.1" });
    expect(server.HTTPS).toBeUndefined();
  });

  it("a CGI script sees the client too", async () => {
    const env = await cgiEnv(gateway.url, { Forwarded: "for=198.51.100.3;proto=https" });
    expect(env).toMatchObject({ REMOTE_ADDR: "198.51.100.3", HTTPS: "on", SERVER_PORT: "443" });
  });
});

describe("from a peer that is not trusted (only 10.0.0.0/8 trusted)", () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await start(["10.0.0.0/8"], fpm.port);
  });
  afterAll(() => gateway?.stop());

  it("the fields change nothing, and still reach the backend as they were", async () => {
    const headers = { "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443", Forwarded: "for=203.0.113.8;proto=https" };
    const server = await phpServer(gateway.url, headers);
    expect(server).toMatchObject({ REMOTE_ADDR: "127.0.0.1", REQUEST_SCHEME: "http", HTTP_X_FORWARDED_FOR: "203.0.113.7", HTTP_X_FORWARDED_PROTO: "https" });
    expect(server.HTTPS).toBeUndefined();
    expect(server.SERVER_PORT).not.toBe("443");
    expect(gateway.access.at(-1)).toMatch(/^127\.0\.0\.1 - - \[/);
  });
});

describe("from an IPv4 peer when only ::/0 is trusted", () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await start(["::/0"], fpm.port);
  });
  afterAll(() => gateway?.stop());

  it("the fields change nothing: every IPv6 address is not every IPv4 one too", async () => {
    const server = await phpServer(gateway.url, { "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https" });
    expect(server).toMatchObject({ REMOTE_ADDR: "127.0.0.1", REQUEST_SCHEME: "http" });
  });
});

describe("trustedProxies() for a hono app of one's own", () => {
  let server: RunningServer;
  let base = "";
  const handlers = [cgi({ root: FIXTURES, interpreters: { ".sh": "sh" } }), cgi({ root: join(FIXTURES, "cgi"), interpreters: { ".sh": "sh", ".pl": "perl" } })];
  beforeAll(async () => {
    const app = new Hono();
    app.use(trustedProxies(["127.0.0.1"]));
    app.all("/cgi/*", handlers[0]!);
    app.all("*", handlers[1]!);
    server = await serve(app, { listen: ["127.0.0.1:0"] });
    const addr = server.addresses[0]!;
    base = `http://127.0.0.1:${addr.kind === "tcp" ? addr.port : 0}`;
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all(handlers.map((h) => h.close()));
  });

  it("the gateways behind it see the client", async () => {
    const env = await cgiEnv(base, { "X-Forwarded-For": "198.51.100.4" });
    expect(env.REMOTE_ADDR).toBe("198.51.100.4");
  });

  it("so does the script a local redirect (RFC 3875 §6.2.2) leads to", async () => {
    const res = await fetch(`${base}/local-redirect.sh`, { headers: { "X-Forwarded-For": "198.51.100.5", "X-Forwarded-Proto": "https" } });
    expect(res.status).toBe(200);
    const { env } = (await res.json()) as { env: Record<string, string> };
    expect(env).toMatchObject({ REMOTE_ADDR: "198.51.100.5", HTTPS: "on", SCRIPT_NAME: "/env.pl" });
  });

  it("an entry that is no address is refused when the middleware is made", () => {
    expect(() => trustedProxies(["10.0.0.0/8", "proxy.internal"])).toThrow(/\[1\]: expected an IP address/);
  });

  it("realIpHeader: \"Forwarded\" reads Forwarded alone", async () => {
    const app = new Hono();
    app.use(trustedProxies(["127.0.0.1"], { realIpHeader: "Forwarded" }));
    app.all("*", handlers[0]!);
    const own = await serve(app, { listen: ["127.0.0.1:0"] });
    try {
      const addr = own.addresses[0]!;
      const url = `http://127.0.0.1:${addr.kind === "tcp" ? addr.port : 0}`;
      expect(await cgiEnv(url, { Forwarded: "for=198.51.100.6;proto=https" })).toMatchObject({ REMOTE_ADDR: "198.51.100.6", HTTPS: "on" });
      expect(await cgiEnv(url, { "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https" })).toMatchObject({ REMOTE_ADDR: "127.0.0.1", REQUEST_SCHEME: "http" });
    } finally {
      await own.close();
    }
  });

  it("a realIpHeader that is neither is refused when the middleware is made", () => {
    expect(() => trustedProxies(["127.0.0.1"], { realIpHeader: "X-Real-IP" as "Forwarded" })).toThrow(/realIpHeader: expected "X-Forwarded-For" or "Forwarded"/);
  });
});

// The middleware stands in for each runtime's own env (Node's keeps its state
// in private fields, which the gateways still reach): the CLI on every runtime.
for (const runtime of ["node", "deno", "bun"] as CliRuntime[]) {
  describe(`postern serve on ${runtime}`, () => {
    let base = "";
    let stop: () => Promise<void> = async () => undefined;
    const dir = mkdtempSync(join(tmpdir(), "postern-proxies-"));
    beforeAll(async () => {
      const port = await freePort();
      const file = join(dir, "postern.toml");
      writeFileSync(
        file,
        `listen = ["127.0.0.1:${port}"]\naccess_log = false\ntrusted_proxies = ["127.0.0.1"]\n\n[[routes]]\npath = "/php/*"\ngateway = "fastcgi"\nbackend = "127.0.0.1:${fpm.port}"\nroot = ${JSON.stringify(FIXTURES)}\n`,
      );
      const { proc, log } = spawnPostern(runtime, ["serve", "--config", file]);
      stop = () => stopProcessGroup(proc, "SIGTERM");
      await waitForPort(proc, port, `postern on ${runtime}`, log);
      base = `http://127.0.0.1:${port}`;
    }, 60_000);
    afterAll(async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("php-fpm sees the client and its scheme", async () => {
      const server = await phpServer(base, { "X-Forwarded-For": "9.9.9.9, 203.0.113.7", "X-Forwarded-Proto": "https" });
      expect(server).toMatchObject({ REMOTE_ADDR: "203.0.113.7", HTTPS: "on", SERVER_PORT: "443", REQUEST_SCHEME: "https" });
    });

    it("a Forwarded of the client's own changes nothing when real_ip_header is the default", async () => {
      const server = await phpServer(base, { Forwarded: "for=6.6.6.6;proto=https" });
      expect(server).toMatchObject({ REMOTE_ADDR: "127.0.0.1", REQUEST_SCHEME: "http" });
    });

    it("X-Forwarded-For over several field lines is one list in their order (RFC 9110 §5.3): the last line's item is nearest", async () => {
      const fields: [string, string][] = [["Host", "x"], ["X-Forwarded-For", "6.6.6.6"], ["X-Forwarded-For", "203.0.113.7"], ["Connection", "close"]];
      const answer = await rawRequest(Number(new URL(base).port), buildRequest("GET", "/php/env.php", fields));
      const server = (JSON.parse(answer.body.toString()) as { server: Record<string, string> }).server;
      expect(server).toMatchObject({ REMOTE_ADDR: "203.0.113.7", HTTP_X_FORWARDED_FOR: "6.6.6.6, 203.0.113.7" });
    });
  });
}

/** GET `url` from the local address `from` (any of 127.0.0.0/8 on Linux): JSON of php's $_SERVER. */
function phpServerFrom(from: string, url: string, headers: Record<string, string>): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress: from, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => {
        try {
          resolve((JSON.parse(body) as { server: Record<string, string> }).server);
        } catch (err) {
          reject(new Error(`${res.statusCode}: ${body.slice(0, 200)} (${String(err)})`));
        }
      });
    });
    req.on("error", reject);
    req.end();
  });
}

// The README's nginx example in front of postern: the client (127.0.0.2)
// spoofs the fields, nginx (127.0.0.1, the one trusted proxy) appends to
// X-Forwarded-For and replaces X-Forwarded-Proto.
/** nginx on loopback in front of `gateway`, with the README's nginx block that contains `marker` as its location. */
function startNginx(gateway: Gateway, marker: string): Promise<Nginx> {
  return startNginxServer({ server: substitute(readmeBlock("nginx", marker), { "127.0.0.1:8080": new URL(gateway.url).host }) });
}

describe("behind the README's nginx example", () => {
  let gateway: Gateway;
  let nginx: Nginx | undefined;
  beforeAll(async () => {
    gateway = await start(["127.0.0.1"], fpm.port);
    nginx = await startNginx(gateway, "proxy_add_x_forwarded_for");
  }, 30_000);
  afterAll(async () => {
    await nginx?.stop();
    await gateway?.stop();
  });

  it("the client is the address nginx saw, whatever it wrote itself", async () => {
    const spoofed = { "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https", Forwarded: "for=6.6.6.7;proto=https" };
    const server = await phpServerFrom("127.0.0.2", `http://127.0.0.1:${nginx!.port}/php/env.php`, spoofed);
    expect(server).toMatchObject({ REMOTE_ADDR: "127.0.0.2", REQUEST_SCHEME: "http", HTTP_X_FORWARDED_FOR: "6.6.6.6, 127.0.0.2" });
    expect(server.HTTPS).toBeUndefined();
  });

  it("straight to postern, the same fields change nothing", async () => {
    const server = await phpServerFrom("127.0.0.2", `${gateway.url}/php/env.php`, { "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https" });
    expect(server).toMatchObject({ REMOTE_ADDR: "127.0.0.2", REQUEST_SCHEME: "http" });
  });
});

// The README's Forwarded-only nginx: it sets Forwarded and passes the
// client's X-Forwarded-* on untouched, so they must not be read.
describe('behind the README\'s nginx that sets only Forwarded, with real_ip_header = "Forwarded"', () => {
  let gateway: Gateway;
  let nginx: Nginx | undefined;
  beforeAll(async () => {
    gateway = await start(["127.0.0.1"], fpm.port, 'real_ip_header = "Forwarded"');
    nginx = await startNginx(gateway, "proxy_set_header Forwarded");
  }, 30_000);
  afterAll(async () => {
    await nginx?.stop();
    await gateway?.stop();
  });

  it("the client's own X-Forwarded-For and -Proto are not believed: the client is the address nginx saw", async () => {
    const spoofed = { "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443" };
    const server = await phpServerFrom("127.0.0.2", `http://127.0.0.1:${nginx!.port}/php/env.php`, spoofed);
    expect(server).toMatchObject({ REMOTE_ADDR: "127.0.0.2", REQUEST_SCHEME: "http", HTTP_X_FORWARDED_FOR: "6.6.6.6", HTTP_FORWARDED: "for=127.0.0.2;proto=http" });
    expect(server.HTTPS).toBeUndefined();
    expect(server.SERVER_PORT).not.toBe("443");
  });

  it("nor is a Forwarded of its own: nginx replaces it", async () => {
    const server = await phpServerFrom("127.0.0.2", `http://127.0.0.1:${nginx!.port}/php/env.php`, { Forwarded: "for=6.6.6.6;proto=https" });
    expect(server).toMatchObject({ REMOTE_ADDR: "127.0.0.2", REQUEST_SCHEME: "http" });
  });
});

describe("postern check", () => {
  const toml = (trusted: string) => `listen = ["127.0.0.1:8080"]\ntrusted_proxies = [\n  "10.0.0.0/8",\n  ${trusted},\n]\n\n[[routes]]\ngateway = "static"\nroot = "."\n`;
  const warningsOf = async (trusted: string) => (await configWarnings(parseConfig(toml(trusted), "test.toml", gatewaySchemas), nodeRuntime, FIXTURES)).map((w) => `${w.line}: ${w.message}`);

  test.each([
    ['"0.0.0.0/0"', "IPv4"],
    ['"::ffff:0:0/96"', "IPv4"],
    ['"::/0"', "IPv6"],
  ])("warns about %s, which holds every %s address, at the key's line", async (entry, family) => {
    expect(await warningsOf(entry)).toEqual([`2: trusted_proxies: ${entry} holds every ${family} address, so any client that reaches postern directly can set its own address and scheme; list the proxies' own addresses or subnet`]);
  });

  test.each(['"0.0.0.0/1"', '"::/1"', '"::ffff:0:0/97"', '"127.0.0.1"'])("says nothing about %s", async (entry) => {
    expect(await warningsOf(entry)).toEqual([]);
  });

  it("prints the warning as file:line, as the README shows it, and exits 0", () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-proxies-check-"));
    try {
      const file = join(dir, "postern.toml");
      writeFileSync(file, toml('"0.0.0.0/0"'));
      const { status, stdout, stderr } = spawnSync(process.execPath, [join(import.meta.dirname, "../bin/postern.js"), "check", "--config", file], { encoding: "utf8", timeout: 20_000 });
      expect(status).toBe(0);
      expect(stdout).toBe(`${file}: ok (1 route)\n`);
      expect(stderr.trim()).toBe(readmeBlock("", 'warning: trusted_proxies: "0.0.0.0/0"').trim().replace("postern.toml", file));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
