// One suite of HTTP-level tests, run against postern on each runtime (the
// files beside this one start it): the same config — static files (also on
// the PHP route's root, whose scripts they never show), a real php-fpm over
// TCP, CGI shell scripts, the WASI probe module — and the same requests and
// expectations everywhere. A runtime that lacks a capability
// (no processes on workerd) skips the tests that need it, saying which.

import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "../helpers/binaries.ts";
import { exchange } from "../helpers/raw-exchange.ts";
import { rawRequest } from "../helpers/raw-http.ts";
import { slowUpload, stalledReader, upload, type SlowClient } from "../helpers/slow-client.ts";
import { download, open } from "../helpers/slow-download.ts";
import { makeCgiTree, type CgiTree, type TreeEntry } from "../helpers/cgi-fixtures.ts";
import { startPhpFpm, type PhpFpm } from "../helpers/php-fpm.ts";
import { framingCases } from "./framing.ts";
import { parseWhoami, SCRIPT_USER } from "../helpers/script-user.ts";

export const ROOT = join(import.meta.dirname, "../..");
export const FIXTURES = join(ROOT, "test/fixtures");
export const PROBE = join(ROOT, "examples/wasi/probe.wasm");
export const PUBLIC = join(ROOT, "examples/demo/public");
const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const PHP_CGI = requireBinary(["php-cgi"], "php-cgi");
/** postern runs as root here (as in CI): what it starts runs as nobody. */
const AS_ROOT = process.getuid!() === 0;
const MiB = 1024 * 1024;
/** php-fpm's pool: the slow-client cases keep every child busy. */
const PHP_CHILDREN = 2;

export interface Capabilities {
  /** Processes can be started (CGI). */
  spawn: boolean;
  /** The server reports the client's address (REMOTE_ADDR). */
  clientAddress: boolean;
  /** postern's serve() answers the connection (on workerd the platform's server does, with its own rules). */
  ownServer: boolean;
  /** Threads: a WASI module runs in one and its output is streamed (else it runs on the request's thread, its output held, at most 32 MiB). */
  threads: boolean;
  /** Files can be read: static files come from a `static` route (else from the platform, e.g. Workers assets of PUBLIC). */
  files: boolean;
  /** What the wasi route's `module` names: the probe's path, or the name it was bundled under. */
  probeModule: string;
}

/** Where the suite's backends are, for a target to build its config from. */
export interface Backends {
  /** php-fpm's TCP port on 127.0.0.1. */
  phpPort: number;
  /** A private CGI root (CGI_TREE), run through the native spawner: the suite swaps one of its directories for a symlink. */
  treeRoot: string;
  /** The server's temporary directory (its TMPDIR), where the suite looks for the files it holds bodies in. */
  tmpDir: string;
}

export interface RunningTarget {
  url: string;
  /** The resident memory of the server's process, in bytes; absent where it cannot be read. */
  rss?(): number;
  stop(): Promise<void>;
}

export interface Target {
  /** The runtime's name, as the describe block shows it. */
  name: string;
  capabilities: Capabilities;
  /** Starts postern on the runtime serving `routes` (postern.toml route tables). */
  start(routes: string, backends: Backends): Promise<RunningTarget>;
}

/** The routes every target serves: the same on all runtimes but for what a target cannot have. */
export function suiteRoutes(backends: Backends, capabilities: Capabilities): string {
  const routes = [
    // Before /php/*: two backends, one dead, with active health checks (lazy on workerd: run by the requests);
    // a long check timeout, so that a loaded machine does not take the live one out.
    route({ path: "/php/sleep.php", gateway: "fastcgi", root: FIXTURES, balance: "round_robin" }, [
      `backend = ["127.0.0.1:${backends.phpPort}", "127.0.0.1:9"]`,
      'health = { path = "/php/sleep.php?ms=0&check", interval = "1s", timeout = "10s", fails = 1 }',
    ]),
    // One connection at a time: a connection never given back would hold the route.
    route({ path: "/php/one/*", gateway: "fastcgi", backend: `127.0.0.1:${backends.phpPort}`, root: FIXTURES }, ["max_conns = 1"]),
    // Capacity unknown, and no connection yet when its one test begins.
    route({ path: "/php/fresh/*", gateway: "fastcgi", backend: `127.0.0.1:${backends.phpPort}`, root: FIXTURES }),
    route({ path: "/php/*", gateway: "fastcgi", backend: `127.0.0.1:${backends.phpPort}`, root: FIXTURES }),
    // Port 9 (discard) on loopback: nothing listens there.
    route({ path: "/dead/*", gateway: "fastcgi", backend: "127.0.0.1:9", root: FIXTURES, front_controller: "/php/env.php", connect_timeout: "2s" }),
    route({ path: "/probe/*", gateway: "wasi", module: capabilities.probeModule, timeout: "10s" }),
    // Any path under them runs the one script, with small limits for the slow-client cases.
    route({ path: "/upload/*", gateway: "fastcgi", backend: `127.0.0.1:${backends.phpPort}`, root: FIXTURES, front_controller: "/php/env.php", max_buffered_body: "64k", body_timeout: "2s" }),
    route({ path: "/stalled/*", gateway: "fastcgi", backend: `127.0.0.1:${backends.phpPort}`, root: FIXTURES, front_controller: "/php/big.php", send_timeout: "2s" }),
  ];
  if (capabilities.spawn) {
    // Started with the runtime's own spawn (not the native spawner, which drops to the user itself): the runtime's uid and gid.
    routes.push(route({ path: "/cgi/whoami.sh", gateway: "cgi", root: FIXTURES }, ['interpreters = { ".sh" = "sh" }', "spawn_helper = false"]));
    routes.push(route({ path: "/cgi/*", gateway: "cgi", root: FIXTURES }, ['interpreters = { ".sh" = "sh" }']));
    routes.push(route({ path: "/tree/*", gateway: "cgi", root: backends.treeRoot }));
    // Before /php/*: a php-cgi the runtime spawns and supervises.
    if (PHP_CGI) routes.unshift(route({ path: "/php/whoami.php", gateway: "fastcgi", root: FIXTURES }, [`spawn = { command = [${JSON.stringify(PHP_CGI)}] }`]));
  }
  if (capabilities.files) {
    // The README's PHP layout: files first, on the PHP route's own root.
    routes.unshift(route({ path: "/php/*", gateway: "static", root: FIXTURES }));
    routes.push(route({ path: "*", gateway: "static", root: PUBLIC }));
  }
  return routes.join("\n");
}

function route(keys: Record<string, string>, lines: string[] = []): string {
  return ["[[routes]]", ...Object.entries(keys).map(([k, v]) => `${k} = ${JSON.stringify(v)}`), ...lines, ""].join("\n");
}

/** Runtimes whose server answers Expect: 100-continue itself, at once (a known difference: postern cannot hold it back). */
const EAGER_CONTINUE = new Set(["deno", "bun"]);

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

/** Waits until `ready()` holds, checking every 50 ms; fails after 15 s naming `what`. */
async function until(ready: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`waited 15 s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function get(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: Uint8Array; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000), ...init });
  const body = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body, text: new TextDecoder().decode(body) };
}

/** KEY=value lines (the probe's `env:` lines, a shell's `env`) as a record. */
function variables(text: string, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const eq = line.indexOf("=", prefix.length);
    if (eq > 0) out[line.slice(prefix.length, eq)] = line.slice(eq + 1);
  }
  return out;
}

const say = (what: string) => `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n${what}\\n'\n`;
/** whoami, a script inside the root, and one of the same name outside it that must never run. */
const CGI_TREE: TreeEntry[] = [
  { path: "www/tree/whoami.sh", fixture: "whoami.sh", mode: 0o755 },
  { path: "www/tree/app/run.sh", text: say("inside"), mode: 0o755 },
  { path: "outside/app/run.sh", text: say("OUTSIDE"), mode: 0o755 },
];

export function conformance(target: Target): void {
  describe(`conformance on ${target.name}`, () => {
    let fpm: PhpFpm | undefined;
    let tree: CgiTree | undefined;
    let running: RunningTarget | undefined;
    let base = "";
    const skipSpawn = !target.capabilities.spawn;
    const tmpDir = mkdtempSync(join(tmpdir(), "postern-conformance-tmp-"));
    // The spawned php-cgi (nobody, when the tests run as root) makes its socket in a directory in it.
    chmodSync(tmpDir, 0o711);

    beforeAll(async () => {
      if (!PHP_FPM) throw new Error("php-fpm is not installed (apt-get install php-fpm)");
      fpm = await startPhpFpm(PHP_FPM, { children: PHP_CHILDREN });
      tree = makeCgiTree(CGI_TREE);
      const backends = { phpPort: fpm.port, treeRoot: tree.root, tmpDir };
      running = await target.start(suiteRoutes(backends, target.capabilities), backends);
      base = running.url;
    }, 60_000);

    afterAll(async () => {
      await running?.stop();
      await fpm?.stop();
      tree?.remove();
      rmSync(tmpDir, { recursive: true, force: true });
    }, 30_000);

    describe("static files", () => {
      test("GET: the file, its type and length", async () => {
        const answer = await get(`${base}/index.html`);
        expect(answer.status).toBe(200);
        expect(answer.headers.get("content-type")).toMatch(/^text\/html/);
        expect(answer.text).toContain("<title>postern demo</title>");
        // Bun's server sends a streamed body chunked, whatever Content-Length says.
        const length = answer.headers.get("content-length");
        if (length !== null) expect(Number(length)).toBe(answer.body.byteLength);
      });

      const fromAssets = target.capabilities.files ? "" : ` (skipped: on ${target.name} static files come from the platform's assets, not a static route)`;

      test.skipIf(fromAssets !== "")(`HEAD: the length, no body${fromAssets}`, async () => {
        const full = await get(`${base}/index.html`);
        const head = await get(`${base}/index.html`, { method: "HEAD" });
        expect(head.status).toBe(200);
        expect(head.body.byteLength).toBe(0);
        expect(head.headers.get("content-length")).toBe(String(full.body.byteLength));
      });

      test.skipIf(fromAssets !== "")(`a range: 206 with those bytes${fromAssets}`, async () => {
        const full = await get(`${base}/index.html`);
        const part = await get(`${base}/index.html`, { headers: { Range: "bytes=2-11" } });
        expect(part.status).toBe(206);
        expect(part.headers.get("content-range")).toBe(`bytes 2-11/${full.body.byteLength}`);
        expect(part.text).toBe(full.text.slice(2, 12));
      });

      const platformServer = target.capabilities.ownServer ? "" : ` (skipped: ${target.name}'s own server reads the request, not postern's)`;
      test.skipIf(platformServer !== "")(`an HTTP/1.0 request without Host is answered (RFC 9112 §3.2 asks Host of 1.1 only)${platformServer}`, async () => {
        const port = Number(new URL(base).port);
        const raw = await new Promise<string>((resolve, reject) => {
          let out = "";
          const socket = connect({ host: "127.0.0.1", port }, () => socket.write("GET /index.html HTTP/1.0\r\n\r\n"));
          socket.setEncoding("latin1");
          socket.on("data", (d: string) => (out += d));
          socket.on("end", () => resolve(out));
          socket.on("error", reject);
          socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer: ${JSON.stringify(out.slice(0, 200))}`)));
        });
        expect(raw).toMatch(/^HTTP\/1\.[01] 200 /);
        expect(raw).toContain("<title>postern demo</title>");
      });

      test("a missing file: 404", async () => {
        expect((await get(`${base}/missing.html`)).status).toBe(404);
      });

      test.skipIf(fromAssets !== "")(`on the PHP route's root: a file is served, a script runs, whatever its spelling, and is never shown${fromAssets}`, async () => {
        expect((await get(`${base}/php/uploads/a.jpg`)).headers.get("content-type")).toBe("image/jpeg");
        for (const path of ["/php/hello.php", "/php/hello.ph%70", "/php/hello%2Ephp", "/php/sub/index.php"]) {
          const answer = await get(base + path);
          expect(answer.text, path).not.toContain("<?php");
          expect(answer.status, path).toBe(200);
        }
        expect((await get(`${base}/php/hello.php`)).text).toBe("Hello, world!\n");
      });
    });

    describe("FastCGI to php-fpm over TCP", () => {
      test("the CGI variables PHP sees", async () => {
        const answer = await get(`${base}/php/env.php/extra?x=1&y=%20`, { headers: { "X-Test": "conformance" } });
        expect(answer.status).toBe(200);
        const server = (JSON.parse(answer.text) as { server: Record<string, string> }).server;
        expect(server).toMatchObject({
          REQUEST_METHOD: "GET",
          SCRIPT_NAME: "/php/env.php",
          PATH_INFO: "/extra",
          QUERY_STRING: "x=1&y=%20",
          REQUEST_URI: "/php/env.php/extra?x=1&y=%20",
          SCRIPT_FILENAME: join(FIXTURES, "php/env.php"),
          HTTP_X_TEST: "conformance",
          GATEWAY_INTERFACE: "CGI/1.1",
        });
        if (target.capabilities.clientAddress) expect(server.REMOTE_ADDR).toBe("127.0.0.1");
      });

      test("a form and a 2 MiB body reach PHP whole", async () => {
        const form = JSON.parse((await get(`${base}/php/env.php`, { method: "POST", body: new URLSearchParams({ a: "1", b: "ç" }) })).text) as {
          post: Record<string, string>;
        };
        expect(form.post).toEqual({ a: "1", b: "ç" });
        const body = randomBytes(2 * MiB);
        const seen = JSON.parse((await get(`${base}/php/env.php`, { method: "POST", body, headers: { "Content-Type": "application/octet-stream" } })).text) as {
          body_length: number;
          body_md5: string;
        };
        expect(seen).toMatchObject({ body_length: body.byteLength, body_md5: md5(body) });
      });

      test("a status and three Set-Cookie fields", async () => {
        const answer = await get(`${base}/php/headers.php?cookies=1&status=201`);
        expect(answer.status).toBe(201);
        expect(answer.headers.getSetCookie()).toEqual(["a=1", "b=2", "c=3; Path=/"]);
        expect(answer.headers.get("x-custom")).toBe("yes");
      });

      test("8 MiB streamed out", async () => {
        const answer = await get(`${base}/php/big.php?mb=8`);
        expect(answer.status).toBe(200);
        expect(answer.body.byteLength).toBe(8 * MiB);
      });

      test("a double slash does not pass the /php/* route by: PHP runs, REQUEST_URI as sent (src/paths.ts)", async () => {
        const answer = await get(`${base}//php/env.php?x=1`);
        expect(answer.status).toBe(200);
        const server = (JSON.parse(answer.text) as { server: Record<string, string> }).server;
        expect(server).toMatchObject({ SCRIPT_NAME: "/php/env.php", REQUEST_URI: "//php/env.php?x=1", SCRIPT_FILENAME: join(FIXTURES, "php/env.php") });
      });

      const platformParser = target.capabilities.ownServer ? "" : ` (skipped: ${target.name}'s own server reads the request, not postern's)`;
      test.skipIf(platformParser !== "")(`dot segments and empty ones as sent on the wire: PHP runs the normal path${platformParser}`, async () => {
        const answer = await rawRequest(Number(new URL(base).port), "GET /nowhere/..//php/./env.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        expect(answer.status).toBe(200);
        const server = (JSON.parse(answer.body.toString()) as { server: Record<string, string> }).server;
        expect(server.SCRIPT_NAME).toBe("/php/env.php");
      });

      test.skipIf(platformParser !== "")(`Expect: 100-continue with a length over max_body_size: 413 alone, no 100 Continue before it${platformParser}`, async () => {
        const port = Number(new URL(base).port);
        const ex = await exchange(port, Buffer.from("POST /php/env.php HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2147483648\r\n\r\n"), { idleMs: 1_000 });
        // Deno's and Bun's servers send 100 Continue as soon as they have read the head, before any handler runs.
        const interim = EAGER_CONTINUE.has(target.name) ? "HTTP\\/1\\.1 100 Continue\\r\\n\\r\\n" : "";
        expect(ex.raw.toString("latin1")).toMatch(new RegExp(`^${interim}HTTP\\/1\\.1 413 `));
      });

      test.skipIf(platformParser !== "")(`an expectation other than 100-continue: 417${platformParser}`, async () => {
        const answer = await rawRequest(Number(new URL(base).port), "POST /php/env.php HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        expect(answer.status).toBe(417);
      });

      test("a backend nobody listens on: 502", async () => {
        expect((await get(`${base}/dead/env.php`)).status).toBe(502);
      });

      test("active health checks run on this runtime (on workerd within the requests): the live backend answers every request", async () => {
        for (let i = 0; i < 4; i++) expect((await get(`${base}/php/sleep.php?ms=0`)).status).toBe(200);
        expect(fpm!.served()).toContain("GET /php/sleep.php?ms=0&check");
      });
    });

    describe("the Host field (RFC 9110 §7.2: host[:port], nothing else)", () => {
      const platformServer = target.capabilities.ownServer ? "" : ` (skipped: ${target.name}'s own server reads the request, not postern's)`;
      const withHost = (path: string, host: string) => rawRequest(Number(new URL(base).port), `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);

      test.skipIf(platformServer !== "")(`a Host holding a path cannot pick the script: 400${platformServer}`, async () => {
        const answer = await withHost("/index.html", "a/php/env.php?");
        expect(answer.body.toString()).not.toContain("SCRIPT_NAME");
        expect(answer.status).toBe(400);
      });

      test.skipIf(platformServer !== "")(`a Host no URL can hold: 400, not 500${platformServer}`, async () => {
        // "a.1" and "999.1.1.1" end in a number, which the URL parser reads as IPv4; "xn--" and "xn--ab-" are
        // no Punycode of a label (UTS #46 §4), though Node's URL parser takes them (src/http/authority.ts).
        for (const host of ["[", "a.1", "999.1.1.1", "xn--", "xn--ab-"]) expect((await withHost("/index.html", host)).status, host).toBe(400);
      });

      test.skipIf(platformServer !== "")(`markup or spaces in Host never reach SERVER_NAME: 400${platformServer}`, async () => {
        for (const host of ["<script>", "a b", "x, y"]) {
          const answer = await withHost("/php/env.php", host);
          expect(answer.body.toString(), host).not.toContain("SERVER_NAME");
          expect(answer.status, host).toBe(400);
        }
      });
    });

    describe("backpressure: a client that reads slowly", () => {
      // Bun gives back the memory of chunks already sent late (55 to 175 MiB
      // above its baseline over 256 MiB passed, run after run, on the same
      // code): its bound still fails a gateway that reads the answer ahead
      // while the client pauses (some 480 MiB more). Node 24 and 26 (V8 13
      // and 14) also hold more than 20 and 22 on the same code: 73 to 113 MiB
      // above their baseline for the PHP answer where 20 and 22 hold 53 to 69.
      // Deno holds 67 to 97 MiB for it, run after run, on this code and on the
      // code before the route modules alike.
      const SLOW_READ_RSS_MIB: Record<string, number> = { bun: 256, deno: 128, "node 24": 160, "node 26": 160 };
      /** Reads `url` with a pause at 32 MiB, up to 256 MiB: the server's memory grows by less than 96 MiB. */
      async function boundedWhileSlow(path: string): Promise<void> {
        const rss = running!.rss!;
        const baseline = rss();
        let peak = baseline;
        const sampler = setInterval(() => (peak = Math.max(peak, rss())), 25);
        try {
          const received = await download(`${base}${path}`, 256 * MiB, 32 * MiB, () => new Promise((resolve) => setTimeout(resolve, 1_500)));
          expect(received).toBeGreaterThanOrEqual(256 * MiB);
        } finally {
          clearInterval(sampler);
        }
        expect((peak - baseline) / MiB, `server RSS from ${Math.round(baseline / MiB)} MiB to ${Math.round(peak / MiB)} MiB`).toBeLessThan(SLOW_READ_RSS_MIB[target.name] ?? 96);
      }
      const noRss = () => (running?.rss ? "" : `the ${target.name} server's memory is not readable here`);

      test("a 512 MiB PHP answer: the gateway holds little of it", async (ctx) => {
        if (noRss()) ctx.skip(noRss());
        await boundedWhileSlow("/php/big.php?mb=512");
      }, 120_000);

      test("after a client left a big PHP answer, the next PHP request is answered", async () => {
        // The client goes away 16 MiB into a 512 MiB answer, on a route of one connection: it must come back to the pool.
        expect(await download(`${base}/php/one/big.php?mb=512`, 16 * MiB)).toBeGreaterThanOrEqual(16 * MiB);
        for (const path of ["/php/one/big.php?mb=1", "/php/one/big.php?mb=1&again"]) {
          // Within the route's queue_timeout (30 s): a connection never given back makes it 503.
          const answer = await get(`${base}${path}`, { signal: AbortSignal.timeout(20_000) });
          expect(answer.status, path).toBe(200);
          expect(answer.body.byteLength, path).toBe(MiB);
        }
      }, 60_000);

      test("while a client holds a big PHP answer unread, another PHP request is answered", async () => {
        // The route's first connection is still busy with the answer held: a second one must be tried.
        const { req } = await open(`${base}/php/fresh/big.php?mb=512`);
        try {
          expect((await get(`${base}/php/fresh/big.php?mb=1`, { signal: AbortSignal.timeout(20_000) })).status).toBe(200);
        } finally {
          req.destroy();
        }
      }, 60_000);

      test.skipIf(!target.capabilities.threads)(
        `a WASI module writing without end: the gateway holds little of it${target.capabilities.threads ? "" : ` (skipped: ${target.name} has no threads; see the next test)`}`,
        async (ctx) => {
          if (noRss()) ctx.skip(noRss());
          await boundedWhileSlow("/probe/flood");
        },
        120_000,
      );

      test.skipIf(target.capabilities.threads)(
        `a WASI module writing without end, run without threads: cut at 32 MiB with a 500, then the route answers on${target.capabilities.threads ? ` (skipped: ${target.name} runs modules in threads; see the previous test)` : ""}`,
        async () => {
          // Run on the request's thread, the module's output is held whole: past 32 MiB the run is ended.
          expect((await get(`${base}/probe/flood`)).status).toBe(500);
          expect((await get(`${base}/probe/env`)).status).toBe(200);
        },
        120_000,
      );
    });


    describe("slow clients hold no backend", () => {
      const own = target.capabilities.ownServer && target.capabilities.files;
      const why = own ? "" : ` (skipped: ${target.name}'s own server reads the request, and it has no temporary files)`;
      const port = () => Number(new URL(base).port);
      const clients: SlowClient[] = [];
      afterEach(() => {
        for (const client of clients.splice(0)) client.stop();
      });
      const spools = () => readdirSync(tmpDir).filter((name) => name.startsWith("postern-spool-"));

      test.skipIf(!own)(`every php-fpm child taken by a client sending its body a byte a second: another request is answered at once${why}`, async () => {
        for (let i = 0; i <= PHP_CHILDREN; i++) clients.push(slowUpload(port(), "/php/env.php", 1000, 1_000));
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const answer = await get(`${base}/php/env.php?other`, { signal: AbortSignal.timeout(10_000) });
        expect(answer.status).toBe(200);
      }, 30_000);

      test.skipIf(!own || skipSpawn)(`every CGI slot (max_procs = 64) taken by a chunked upload sending a byte a second: another script runs at once${why}`, async () => {
        for (let i = 0; i < 64; i++) clients.push(slowUpload(port(), "/cgi/echo.sh", "chunked", 1_000));
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const answer = await get(`${base}/cgi/env.sh?other`, { signal: AbortSignal.timeout(10_000) });
        expect(answer.status).toBe(200);
      }, 30_000);

      test.skipIf(!own)(`every WASI thread (threads = 4) taken by a chunked upload sending a byte a second: another module run is answered at once${why}`, async () => {
        for (let i = 0; i < 4; i++) clients.push(slowUpload(port(), "/probe/echo", "chunked", 1_000));
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const answer = await get(`${base}/probe/env?other`, { signal: AbortSignal.timeout(10_000) });
        expect(answer.status).toBe(200);
      }, 30_000);

      test.skipIf(!own)(`every php-fpm child answering 50 MB to a client that reads nothing: another request is answered${why}`, async () => {
        for (let i = 0; i <= PHP_CHILDREN; i++) clients.push(stalledReader(port(), "/php/big.php?mb=50"));
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const answer = await get(`${base}/php/env.php?other`, { signal: AbortSignal.timeout(20_000) });
        expect(answer.status).toBe(200);
      }, 60_000);

      test.skipIf(!own)(`a body over max_buffered_body goes through a private temporary file, arrives whole, and the file is gone after${why}`, async () => {
        const body = randomBytes(3 * MiB);
        const client = upload(port(), "/upload/", body.byteLength);
        clients.push(client);
        // Two thirds of the body sent, the rest held back while the test looks at the file.
        client.send(body.subarray(0, 2 * MiB));
        await until(() => spools().length === 1, "a temporary file for the body");
        const dir = join(tmpDir, spools()[0]!);
        const files = readdirSync(dir);
        expect(files).toHaveLength(1);
        expect(statSync(dir).mode & 0o777).toBe(0o700);
        expect(statSync(join(dir, files[0]!)).mode & 0o777).toBe(0o600);
        client.send(body.subarray(2 * MiB));
        await until(() => /\r\n\r\n\{.*\}/s.test(client.received().toString("latin1")), "the answer");
        const answer = client.received().toString("latin1");
        expect(answer).toMatch(/^HTTP\/1\.1 200 /);
        const seen = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { body_length: number; body_md5: string };
        expect(seen).toMatchObject({ body_length: body.byteLength, body_md5: md5(body) });
        await until(() => spools().length === 0, "the temporary file removed");
      }, 30_000);

      test.skipIf(!own)(`a client that sends nothing of its body for body_timeout: 408${why}`, async () => {
        const client = upload(port(), "/upload/", 100);
        clients.push(client);
        client.send("0123456789");
        await until(() => client.received().includes("\r\n\r\n408 Request Timeout\n"), "the answer");
        expect(client.received().toString("latin1")).toMatch(/^HTTP\/1\.1 408 /);
      }, 30_000);

      test.skipIf(!own)(`a client that reads nothing of its answer for send_timeout is cut off${why}`, async () => {
        const client = stalledReader(port(), "/stalled/?mb=20");
        clients.push(client);
        // send_timeout is 2 s: by 6 s the client has been cut; what it reads then ends short of the answer.
        await new Promise((resolve) => setTimeout(resolve, 6_000));
        client.resume();
        await client.closed;
        expect(client.received().byteLength).toBeLessThan(20 * MiB);
        expect((await get(`${base}/php/env.php?after`)).status).toBe(200);
      }, 30_000);
      test.skipIf(!own)(`100 concurrent 8 MiB chunked uploads: the server's memory stays bounded${why}`, async (ctx) => {
        if (!running?.rss) ctx.skip();
        const rss = running!.rss!;
        const baseline = rss();
        let peak = baseline;
        const sampler = setInterval(() => (peak = Math.max(peak, rss())), 25);
        const piece = new Uint8Array(64 * 1024).fill(97);
        const chunked = () => {
          let sent = 0;
          return new ReadableStream<Uint8Array>({
            pull(controller) {
              if (sent >= 8 * MiB) return controller.close();
              sent += piece.byteLength;
              controller.enqueue(piece);
            },
          });
        };
        try {
          const answers = await Promise.all(
            Array.from({ length: 100 }, () =>
              fetch(`${base}/php/env.php`, { method: "POST", body: chunked(), duplex: "half", signal: AbortSignal.timeout(100_000) } as RequestInit).then(
                async (res) => ({ status: res.status, seen: (await res.json()) as { body_length: number } }),
              ),
            ),
          );
          for (const { status, seen } of answers) expect({ status, length: seen.body_length }).toEqual({ status: 200, length: 8 * MiB });
        } finally {
          clearInterval(sampler);
        }
        console.info(`${target.name}: 100 concurrent 8 MiB uploads: server RSS from ${Math.round(baseline / MiB)} MiB to ${Math.round(peak / MiB)} MiB`);
        // The bodies weigh 800 MiB; held whole in memory they took the server's RSS up by more than 1.1 GiB
        // on each runtime. Now at most max_buffered_total (64 MiB) of them is in memory at once, beside what
        // the runtime buffers itself and has yet to collect (measured: Node +150, Deno up to +410 MiB, Bun
        // +570 to +660 MiB as its collector runs late): a bound under the bodies' 1.1 GiB either way.
        const bound = target.name === "bun" ? 800 : 640;
        expect((peak - baseline) / MiB, `server RSS from ${Math.round(baseline / MiB)} MiB to ${Math.round(peak / MiB)} MiB`).toBeLessThan(bound);
      }, 120_000);
    });


    describe("CGI scripts", () => {
      test.skipIf(skipSpawn)(`the CGI variables a shell script sees${skipSpawn ? ` (skipped: ${target.name} cannot start processes)` : ""}`, async () => {
        const answer = await get(`${base}/cgi/env.sh/extra?q=1`, { headers: { "X-Test": "conformance" } });
        expect(answer.status).toBe(200);
        expect(variables(answer.text)).toMatchObject({
          REQUEST_METHOD: "GET",
          SCRIPT_NAME: "/cgi/env.sh",
          PATH_INFO: "/extra",
          QUERY_STRING: "q=1",
          HTTP_X_TEST: "conformance",
          argc: "0",
        });
      });

      const asNobody = skipSpawn ? ` (skipped: ${target.name} cannot start processes)` : AS_ROOT ? "" : " (skipped: postern does not run as root here)";
      describe.each([
        ["a script started by the runtime's spawn", "/cgi/whoami.sh", false],
        ["a script started by the native spawner", "/tree/whoami.sh", false],
        ["a spawned php-cgi", "/php/whoami.php", !PHP_CGI],
      ] as const)("as root, %s", (_, path, skip) => {
        test.skipIf(skipSpawn || !AS_ROOT || skip)(`runs as nobody and cannot read postern's environment${asNobody}`, async () => {
          const answer = await get(`${base}${path}`);
          expect(answer.status, answer.text).toBe(200);
          expect(parseWhoami(answer.text)).toEqual({ uid: SCRIPT_USER!.uid, gid: SCRIPT_USER!.gid, groups: [SCRIPT_USER!.gid], readable: [] });
        });
      });

      test.skipIf(skipSpawn)(`a directory swapped for a symlink out of the root after the lookup runs nothing outside${skipSpawn ? ` (skipped: ${target.name} cannot start processes)` : ""}`, async () => {
        expect((await get(`${base}/tree/app/run.sh`)).text).toBe("inside\n");
        // Within the second the lookup stays cached: the spawner must not follow the symlink.
        renameSync(join(tree!.root, "tree/app"), join(tree!.root, "tree/app-before"));
        symlinkSync("../../outside/app", join(tree!.root, "tree/app"));
        const swapped = await get(`${base}/tree/app/run.sh`);
        expect(swapped.text).not.toContain("OUTSIDE");
        expect([403, 502]).toContain(swapped.status);
      });

      test.skipIf(skipSpawn)(`a double slash does not pass the /cgi/* route by: the script runs${skipSpawn ? ` (skipped: ${target.name} cannot start processes)` : ""}`, async () => {
        const answer = await get(`${base}//cgi/env.sh`);
        expect(answer.status).toBe(200);
        expect(variables(answer.text)).toMatchObject({ SCRIPT_NAME: "/cgi/env.sh", REQUEST_URI: "//cgi/env.sh" });
      });

      test.skipIf(skipSpawn)(`a line a script flushed reaches the client while the script still runs${skipSpawn ? ` (skipped: ${target.name} cannot start processes)` : ""}`, async () => {
        const flag = join(tmpDir, "flush-wait.flag");
        const res = await fetch(`${base}/cgi/flush-wait.sh?${flag}`, { signal: AbortSignal.timeout(30_000) });
        const reader = res.body!.getReader();
        const first = new TextDecoder().decode((await reader.read()).value);
        expect(first).toBe("first\n");
        writeFileSync(flag, "");
        let rest = "";
        for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
        expect(rest).toBe("second\n");
        rmSync(flag);
      });

      test.skipIf(skipSpawn)(`1 MiB posted to a script and echoed back${skipSpawn ? ` (skipped: ${target.name} cannot start processes)` : ""}`, async () => {
        const body = randomBytes(MiB);
        const answer = await get(`${base}/cgi/echo.sh`, { method: "POST", body });
        expect(answer.status).toBe(200);
        expect(md5(answer.body)).toBe(md5(body));
      });
    });

    framingCases(target, () => base);

    describe("WASI modules", () => {
      test("the variables and arguments the module sees", async () => {
        const answer = await get(`${base}/probe/env?x=1`, { headers: { "X-Test": "conformance" } });
        expect(answer.status).toBe(200);
        expect(answer.text).toContain("argv[0]=/probe\n");
        expect(variables(answer.text, "env:")).toMatchObject({
          SCRIPT_NAME: "/probe",
          PATH_INFO: "/env",
          QUERY_STRING: "x=1",
          HTTP_X_TEST: "conformance",
        });
      });

      test("1 MiB echoed through the module", async () => {
        const body = randomBytes(MiB);
        const answer = await get(`${base}/probe/echo`, { method: "POST", body });
        expect(answer.status).toBe(200);
        expect(md5(answer.body)).toBe(md5(body));
      });

      test("a status and three Set-Cookie fields", async () => {
        const answer = await get(`${base}/probe/cookies`);
        expect(answer.status).toBe(201);
        expect(answer.headers.getSetCookie()).toEqual(["a=1", "b=2", "c=3"]);
      });

      test("a local redirect is answered as a GET of its path", async () => {
        const answer = await get(`${base}/probe/redirect`);
        expect(answer.status).toBe(200);
        expect(variables(answer.text, "env:").QUERY_STRING).toBe("redirected=1");
      });

      test("a trap: 500, and the next request is answered", async () => {
        expect((await get(`${base}/probe/trap`)).status).toBe(500);
        expect((await get(`${base}/probe/env`)).status).toBe(200);
      });
    });
  });
}
