// The request record an app keeps of each client request and hands out once
// the answer is over: the route that served it (the inner one of a local
// redirect, RFC 3875 §6.2.2), the backend and its time to the answer's head
// (real php-fpm), the status and the bytes the server took to send: all of a
// whole answer, none for HEAD, fewer than the answer had when the client left.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startLogging, type LoggingPostern } from "./helpers/logs-app.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { open } from "./helpers/slow-download.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const BIG = 8 * 1024 * 1024;

let dir: string;
let postern: LoggingPostern;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "postern-record-"));
  mkdirSync(join(dir, "pub"));
  mkdirSync(join(dir, "cgi"));
  writeFileSync(join(dir, "pub/a.txt"), "0123456789\n");
  writeFileSync(join(dir, "cgi/redirect.sh"), "printf 'Location: /a.txt\\r\\n\\r\\n'\n");
  writeFileSync(join(dir, "cgi/err.sh"), "echo 'a complaint' >&2\nprintf 'Content-Type: text/plain\\r\\n\\r\\nok\\n'\n");
  writeFileSync(join(dir, "cgi/big.sh"), `printf 'Content-Type: application/octet-stream\\r\\n\\r\\n'\nhead -c ${BIG} /dev/zero\n`);
  giveToScriptUser(dir);
  postern = await startLogging(
    `[[routes]]\npath = "/cgi/*"\ngateway = "cgi"\nroot = "."\n` +
      `interpreters = { ".sh" = "sh" }\n[[routes]]\npath = "*"\ngateway = "static"\nroot = "pub"\n`,
    dir,
  );
});
afterAll(async () => {
  await postern?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("request record", () => {
  test("a whole answer: route, status, every byte, the client and request line", async () => {
    const before = postern.records.length;
    const response = await fetch(`${postern.url}/a.txt?x=1`, { headers: { "user-agent": "probe/1", referer: "http://r.example/" } });
    expect(await response.text()).toBe("0123456789\n");
    await postern.done(before + 1);
    const record = postern.records[before]!;
    expect(record).toMatchObject({
      method: "GET",
      target: "/a.txt?x=1",
      protocol: "HTTP/1.1",
      client: "127.0.0.1",
      route: "routes[1] (static *)",
      status: 200,
      bytesSent: 11,
      completed: true,
      userAgent: "probe/1",
      referer: "http://r.example/",
    });
    expect(record.durationMs).toBeGreaterThanOrEqual(0);
    expect(record.backend).toBeUndefined();
  });

  test("HEAD: no byte sent", async () => {
    const before = postern.records.length;
    const response = await fetch(`${postern.url}/a.txt`, { method: "HEAD" });
    expect(response.status).toBe(200);
    await postern.done(before + 1);
    expect(postern.records[before]).toMatchObject({ method: "HEAD", status: 200, bytesSent: 0, completed: true });
  });

  test("a local redirect is one request, recorded with the route that answered it", async () => {
    const before = postern.records.length;
    const response = await fetch(`${postern.url}/cgi/redirect.sh`);
    expect(await response.text()).toBe("0123456789\n");
    await postern.done(before + 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(postern.records.length).toBe(before + 1);
    expect(postern.records[before]).toMatchObject({ target: "/cgi/redirect.sh", route: "routes[1] (static *)", status: 200, bytesSent: 11 });
  });

  test("a streamed answer the client leaves: fewer bytes than it had, not completed", async () => {
    const before = postern.records.length;
    const { req, res } = await open(`${postern.url}/cgi/big.sh`);
    let received = 0;
    await new Promise<void>((resolve) => {
      res.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received >= 256 * 1024) {
          req.destroy();
          resolve();
        }
      });
    });
    await postern.done(before + 1);
    const record = postern.records[before]!;
    expect(record).toMatchObject({ route: "routes[0] (cgi /cgi/*)", status: 200, completed: false });
    expect(record.bytesSent).toBeGreaterThanOrEqual(received);
    expect(record.bytesSent).toBeLessThan(BIG);
    expect(postern.access.at(-1)).toMatch(new RegExp(`"GET /cgi/big.sh HTTP/1.1" 200 ${record.bytesSent} `));
  });

  test("a script's stderr is an error line that names its client and request line", async () => {
    expect(await (await fetch(`${postern.url}/cgi/err.sh?q="x"`)).text()).toBe("ok\n");
    const deadline = Date.now() + 20_000;
    while (!postern.errors.some((l) => l.includes("a complaint")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(postern.errors.find((l) => l.includes("a complaint"))).toBe(String.raw`routes[0] (cgi /cgi/*): /cgi/err.sh: stderr: a complaint, client: 127.0.0.1, request: "GET /cgi/err.sh?q=%22x%22 HTTP/1.1"`);
  });

  test("a listener that throws is said on the error log; the access log and later listeners still get the record", async () => {
    const seen: string[] = [];
    const broken = () => {
      throw new Error("a broken listener");
    };
    const off = [postern.onRequestDone(broken), postern.onRequestDone((record) => seen.push(record.target))];
    try {
      const before = postern.records.length;
      const access = postern.access.length;
      await (await fetch(`${postern.url}/a.txt?listeners`)).text();
      await postern.done(before + 1);
      expect(seen).toEqual(["/a.txt?listeners"]);
      expect(postern.access.length).toBe(access + 1);
      expect(postern.errors).toContain("request observation: a broken listener");
    } finally {
      for (const unsubscribe of off) unsubscribe();
    }
  });

  test("the access line has the bytes sent", async () => {
    const before = postern.records.length;
    await (await fetch(`${postern.url}/a.txt`)).text();
    await postern.done(before + 1);
    expect(postern.access.at(-1)).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/a\.txt HTTP\/1\.1" 200 11 "-" "[^"]*"$/);
  });
});

describe("request record of a proxy route", () => {
  test("the HTTP backend's address and its time to the answer's head", async () => {
    const backend: Server = createServer((_, res) => res.end("from the backend\n"));
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
    const port = (backend.address() as { port: number }).port;
    const proxied = await startLogging(`[[routes]]\ngateway = "proxy"\nbackend = ["http://127.0.0.1:${port}"]\n`, dir);
    try {
      expect(await (await fetch(`${proxied.url}/x`)).text()).toBe("from the backend\n");
      await proxied.done(1);
      expect(proxied.records[0]).toMatchObject({ route: "routes[0] (proxy *)", backend: `127.0.0.1:${port}`, status: 200, bytesSent: 17 });
      expect(proxied.records[0]!.upstreamMs).toBeGreaterThanOrEqual(0);
    } finally {
      await proxied.stop();
      backend.close();
    }
  });
});

describe("error lines of the app's own middleware", () => {
  test("a rewrite cycle's line names the client and the request line", async () => {
    const looping = await startLogging(
      `[[rewrites]]\nmatch = "^/a/(.*)$"\nto = "/b/$1"\n[[rewrites]]\nmatch = "^/b/(.*)$"\nto = "/a/$1"\n[[routes]]\ngateway = "static"\nroot = "pub"\n`,
      dir,
    );
    try {
      expect((await fetch(`${looping.url}/a/x`)).status).toBe(500);
      expect(looping.errors.find((line) => line.startsWith("rewrites: "))).toMatch(/, client: 127\.0\.0\.1, request: "GET \/a\/x HTTP\/1\.1"$/);
    } finally {
      await looping.stop();
    }
  });
});

describe.skipIf(!PHP_FPM)("request record with php-fpm", () => {
  let fpm: PhpFpm;
  let php: LoggingPostern;
  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!);
    php = await startLogging(`[[routes]]\ngateway = "fastcgi"\nbackend = "127.0.0.1:${fpm.port}"\nroot = "${join(import.meta.dirname, "fixtures/php")}"\n`, dir);
  });
  afterAll(async () => {
    await php?.stop();
    await fpm?.stop();
  });

  test("the backend's address and its time to the answer's head", async () => {
    const response = await fetch(`${php.url}/hello.php`);
    expect(response.status, php.errors.join("\n")).toBe(200);
    const body = await response.arrayBuffer();
    await php.done(1);
    const record = php.records[0]!;
    expect(record).toMatchObject({ route: "routes[0] (fastcgi *)", backend: `127.0.0.1:${fpm.port}`, status: 200, bytesSent: body.byteLength });
    expect(record.upstreamMs).toBeGreaterThanOrEqual(0);
    expect(record.upstreamMs).toBeLessThanOrEqual(record.durationMs!);
  });
});
