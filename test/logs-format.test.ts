// The access log as each runtime's server writes it (Node, Deno and Bun count
// a body's bytes as their own servers take them): access_log_format = "json"
// lines that JSON.parse reads, with the bytes actually sent for a whole
// answer, for HEAD (none) and for a streamed answer its client leaves, the
// backend (real php-fpm) and its time; and a User-Agent full of quotes and
// backslashes that cannot forge a line or a field in either format.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, stopPostern, type CliRuntime, type Served } from "./helpers/postern-cli.ts";
import { rawRequest } from "./helpers/raw-http.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { open } from "./helpers/slow-download.ts";

const RUNTIMES: CliRuntime[] = ["node", "deno", "bun"];
const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const PHP_ROOT = join(import.meta.dirname, "fixtures/php");
/** A streamed answer far larger than what the socket buffers hold. */
const BIG = 32 * 1024 * 1024;
/** Quotes, backslashes, a tab, and what would close the field and begin another in either format. */
const HOSTILE_AGENT = 'x" 200 1 "-" "forged\\", "status": 999, "y": "\t\\';

const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");

/** Until `check` holds, or fails with `what` after 20 s. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let fpm: PhpFpm | undefined;
beforeAll(async () => {
  if (PHP_FPM) fpm = await startPhpFpm(PHP_FPM);
});
afterAll(async () => {
  await fpm?.stop();
});

describe.each(RUNTIMES)("access log on %s", (runtime) => {
  let dir: string;
  const started: Served[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "postern-log-format-"));
    mkdirSync(join(dir, "pub"));
    mkdirSync(join(dir, "cgi"));
    mkdirSync(join(dir, "logs"));
    writeFileSync(join(dir, "pub/a.txt"), "0123456789\n");
    // Its first line, then the second once the file its query names exists.
    writeFileSync(join(dir, "cgi/wait.sh"), `printf 'Content-Type: text/plain\\r\\n\\r\\nfirst\\n'\nwhile [ ! -e "$QUERY_STRING" ]; do sleep 0.05; done\necho second\n`);
    writeFileSync(join(dir, "cgi/big.sh"), `printf 'Content-Type: application/octet-stream\\r\\n\\r\\n'\nhead -c ${BIG} /dev/zero\n`);
    giveToScriptUser(dir);
  });
  afterAll(async () => {
    await Promise.all(started.map(stopPostern));
    rmSync(dir, { recursive: true, force: true });
  });

  /** postern with this access_log_format, its access log in logs/<format>.log; lines() reads it. */
  async function serve(format: "json" | "combined") {
    const log = join(dir, `logs/${format}.log`);
    const php = fpm ? `[[routes]]\npath = "/hello.php"\ngateway = "fastcgi"\nbackend = "127.0.0.1:${fpm.port}"\nroot = "${PHP_ROOT}"\n` : "";
    const config = join(dir, `${format}.toml`);
    writeFileSync(
      config,
      `listen = "127.0.0.1:0"\naccess_log = "${log}"\naccess_log_format = "${format}"\n` +
        `[[routes]]\npath = "/cgi/*"\ngateway = "cgi"\nroot = "."\ninterpreters = { ".sh" = "sh" }\n${php}` +
        `[[routes]]\npath = "*"\ngateway = "static"\nroot = "pub"\n`,
    );
    const served = await startPostern(["serve", "--config", config], { runtime, cwd: dir });
    started.push(served);
    const lines = () => read(log).split("\n").filter(Boolean);
    return { url: served.url, port: Number(new URL(served.url).port), lines, served };
  }

  describe("json", () => {
    let postern: Awaited<ReturnType<typeof serve>>;
    beforeAll(async () => {
      postern = await serve("json");
    }, 90_000);
    /** The JSON of the next line once it is written. */
    async function next(request: () => Promise<unknown>): Promise<Record<string, unknown>> {
      const before = postern.lines().length;
      await request();
      await until("the access line", () => postern.lines().length > before);
      expect(postern.lines().length).toBe(before + 1);
      return JSON.parse(postern.lines()[before]!) as Record<string, unknown>;
    }

    test("a whole answer: every field, every byte", async () => {
      const sent = Date.now();
      const line = await next(async () => (await fetch(`${postern.url}/a.txt?q=1`, { headers: { referer: "http://r.example/" } })).text());
      expect(line).toMatchObject({
        client: "127.0.0.1",
        method: "GET",
        target: "/a.txt?q=1",
        protocol: "HTTP/1.1",
        status: 200,
        bytes_sent: 11,
        route: expect.stringMatching(/^routes\[\d\] \(static \*\)$/),
        backend: null,
        upstream_time: null,
        referer: "http://r.example/",
      });
      expect(Object.keys(line)).toEqual(["time", "client", "method", "target", "protocol", "status", "bytes_sent", "duration", "route", "backend", "upstream_time", "referer", "user_agent"]);
      expect(Math.abs(Date.parse(line.time as string) - sent)).toBeLessThan(60_000);
      expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(line.duration).toBeGreaterThanOrEqual(0);
    });

    test("the line is written once the answer is over, not when its head goes out", async () => {
      const before = postern.lines().length;
      const flag = join(dir, `go-${Date.now()}`);
      const { res } = await open(`${postern.url}/cgi/wait.sh?${flag}`);
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk));
      await until("the first line", () => body === "first\n");
      await new Promise((r) => setTimeout(r, 300));
      expect(postern.lines()).toHaveLength(before);
      writeFileSync(flag, "");
      await until("the access line", () => postern.lines().length > before);
      expect(body).toBe("first\nsecond\n");
      expect(JSON.parse(postern.lines()[before]!)).toMatchObject({ target: `/cgi/wait.sh?${flag}`, bytes_sent: 13 });
    });

    test("HEAD: no byte sent", async () => {
      const line = await next(() => fetch(`${postern.url}/a.txt`, { method: "HEAD" }));
      expect(line).toMatchObject({ method: "HEAD", status: 200, bytes_sent: 0 });
    });

    test("a streamed answer the client leaves: the bytes sent before it left, not the answer's", async () => {
      let received = 0;
      const line = await next(async () => {
        const { req, res } = await open(`${postern.url}/cgi/big.sh`);
        await new Promise<void>((resolve) => {
          res.on("data", (chunk: Buffer) => {
            received += chunk.length;
            if (received < 256 * 1024) return;
            req.destroy();
            resolve();
          });
        });
      });
      expect(line).toMatchObject({ target: "/cgi/big.sh", status: 200, route: "routes[0] (cgi /cgi/*)" });
      expect(line.bytes_sent).toBeGreaterThanOrEqual(received);
      expect(line.bytes_sent).toBeLessThan(BIG);
    });

    test("a streamed answer read to its end: all of it", async () => {
      const line = await next(async () => (await fetch(`${postern.url}/cgi/big.sh`)).arrayBuffer());
      expect(line).toMatchObject({ status: 200, bytes_sent: BIG });
    });

    test.skipIf(!PHP_FPM)("a backend's answer: its address and its time to the answer's head", async () => {
      const line = await next(async () => (await fetch(`${postern.url}/hello.php`)).text());
      expect(line).toMatchObject({ status: 200, bytes_sent: 14, backend: `127.0.0.1:${fpm!.port}` });
      expect(line.upstream_time).toBeGreaterThanOrEqual(0);
      expect(line.upstream_time).toBeLessThanOrEqual(line.duration as number);
    });

    test("a hostile User-Agent stays a string of its own line", async () => {
      const line = await next(() => rawRequest(postern.port, `GET /a.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: ${HOSTILE_AGENT}\r\nConnection: close\r\n\r\n`));
      expect(line.user_agent).toBe(HOSTILE_AGENT);
      expect(line.status).toBe(200);
    });
  });

  test("postern's own lines on stderr (a reload) are dated and levelled as error lines", async () => {
    const { served } = await serve("combined");
    served.proc.kill("SIGHUP");
    await until("the reload", () => served.stderr().includes("config reloaded"));
    expect(served.stderr()).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[notice\] postern: SIGHUP: config reloaded$/m);
  }, 90_000);

  test("combined: a hostile User-Agent stays inside its quotes, on its own line", async () => {
    const postern = await serve("combined");
    await rawRequest(postern.port, `GET /a.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: ${HOSTILE_AGENT}\r\nConnection: close\r\n\r\n`);
    await until("the access line", () => postern.lines().length > 0);
    expect(postern.lines()).toHaveLength(1);
    // Host, ident, user, time, request line, status, bytes, then the two quoted fields and nothing after them.
    const quoted = String.raw`"(?:[^"\\]|\\.)*"`;
    const match = new RegExp(`^127\\.0\\.0\\.1 - - \\[[^\\]]+\\] "GET /a\\.txt HTTP/1\\.1" 200 11 (${quoted}) (${quoted})$`).exec(postern.lines()[0]!);
    expect(match, postern.lines()[0]).not.toBeNull();
    expect(match![2]).toBe(String.raw`"x\" 200 1 \"-\" \"forged\\\", \"status\": 999, \"y\": \"\x09\\"`);
  }, 90_000);
});
