// The static files gateway (gateways/static/): types, index files, validators
// and conditional requests (RFC 9110 §13), byte ranges (§14), and the guards
// that keep every byte outside the root unserved.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway } from "../gateways/index.ts";
import { getPath } from "../gateways/request-path.ts";
import { parseRange } from "../gateways/static/range.ts";
import type { Runtime } from "../src/runtime.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";

const SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT";
const BIG = 5 * 1024 * 1024;
const MTIME = new Date("2024-03-01T12:00:00Z");

let dir: string;
let root: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-static-"));
  root = join(dir, "www");
  const files: Record<string, string | Uint8Array> = {
    "page.html": "<p>hi</p>",
    "style.css": "body{}",
    "app.js": "let a = 1;",
    "logo.png": new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
    "data.json": "{}",
    "blob.xyz123": "???",
    "noext": "plain",
    "digits.txt": "0123456789",
    "empty.txt": "",
    "index.html": "<h1>home</h1>",
    "docs/index.html": "<h1>docs</h1>",
    "bare/readme.txt": "no index here",
    ".env": "PASSWORD=1",
    ".git/config": "[core]",
    ".well-known/security.txt": "Contact: x",
    "big.bin": new Uint8Array(BIG).map((_, i) => i % 251),
  };
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(root, name, ".."), { recursive: true });
    writeFileSync(join(root, name), content);
    utimesSync(join(root, name), MTIME, MTIME);
  }
  writeFileSync(join(dir, "secret.txt"), SECRET);
  mkdirSync(join(dir, "outside-dir"));
  writeFileSync(join(dir, "outside-dir", "index.html"), SECRET);
  symlinkSync(join(dir, "secret.txt"), join(root, "leak.txt"));
  symlinkSync(join(dir, "outside-dir"), join(root, "leakdir"));
  symlinkSync(join(root, "digits.txt"), join(root, "alias.txt"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An app with the static route first and a catch-all after it. */
async function appWith(options: Record<string, unknown> = {}): Promise<Hono> {
  const handler = createGateway("static", nodeRuntime, { root, ...options });
  await handler.ready;
  const app = new Hono();
  app.all("*", handler);
  app.all("*", (c) => c.text("fell through", 200));
  return app;
}

describe("content types", () => {
  it.each([
    ["/page.html", "text/html; charset=utf-8"],
    ["/style.css", "text/css; charset=utf-8"],
    ["/app.js", "text/javascript; charset=utf-8"],
    ["/logo.png", "image/png"],
    ["/data.json", "application/json"],
    ["/blob.xyz123", "application/octet-stream"],
    ["/noext", "application/octet-stream"],
  ])("%s is %s", async (path, type) => {
    const res = await (await appWith()).request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(type);
  });

  it("serves the bytes with Content-Length and Accept-Ranges", async () => {
    const res = await (await appWith()).request("/digits.txt");
    expect(res.headers.get("content-length")).toBe("10");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(await res.text()).toBe("0123456789");
  });

  it("empty file is 200 with Content-Length 0", async () => {
    const res = await (await appWith()).request("/empty.txt", { headers: { range: "bytes=0-" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("0");
    expect(await res.text()).toBe("");
  });
});

describe("directories", () => {
  it("serves the index file of /", async () => {
    const res = await (await appWith()).request("/");
    expect(await res.text()).toBe("<h1>home</h1>");
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
  });

  it("serves the index file of a subdirectory", async () => {
    expect(await (await (await appWith()).request("/docs/")).text()).toBe("<h1>docs</h1>");
  });

  it("directory without slash -> 301 keeping the query", async () => {
    const res = await (await appWith()).request("/docs?a=1");
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/docs/?a=1");
  });

  it("redirect for //host/dir is not protocol-relative", async () => {
    // Routed on the normal path (getPath), as postern's serve() and createApp route.
    const app = new Hono({ getPath });
    app.all("*", createGateway("static", nodeRuntime, { root }));
    const res = await app.request(new Request("http://x//docs"));
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/docs/");
  });

  it("index names from options are tried in order", async () => {
    const res = await (await appWith({ index: ["missing.html", "readme.txt"] })).request("/bare/");
    expect(await res.text()).toBe("no index here");
  });

  it("directory without index is no listing", async () => {
    const res = await (await appWith({ fallthrough: false })).request("/bare/");
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain("readme.txt");
  });

  it("file with a trailing slash is not found", async () => {
    expect((await (await appWith({ fallthrough: false })).request("/digits.txt/")).status).toBe(404);
  });
});

describe("validators and conditional requests (RFC 9110 §13)", () => {
  const etag = `W/"a-${MTIME.getTime().toString(16)}"`;

  it("sends a weak ETag and Last-Modified", async () => {
    const res = await (await appWith()).request("/digits.txt");
    expect(res.headers.get("etag")).toBe(etag);
    expect(res.headers.get("last-modified")).toBe(MTIME.toUTCString());
  });

  it.each([
    ["its ETag", etag],
    ["its ETag unweakened", etag.slice(2)],
    ["*", "*"],
    ["a list holding it", `"nope", ${etag} , W/"other"`],
  ])("If-None-Match with %s -> 304 without body", async (_, value) => {
    const res = await (await appWith({ max_age: "1h" })).request("/digits.txt", { headers: { "if-none-match": value } });
    expect(res.status).toBe(304);
    expect(res.headers.get("etag")).toBe(etag);
    expect(res.headers.get("last-modified")).toBe(MTIME.toUTCString());
    expect(res.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(await res.text()).toBe("");
  });

  it("If-None-Match with another tag -> 200", async () => {
    const res = await (await appWith()).request("/digits.txt", { headers: { "if-none-match": 'W/"a-1"' } });
    expect(res.status).toBe(200);
  });

  it("If-Modified-Since at Last-Modified -> 304", async () => {
    const res = await (await appWith()).request("/digits.txt", { headers: { "if-modified-since": MTIME.toUTCString() } });
    expect(res.status).toBe(304);
  });

  it("If-Modified-Since before Last-Modified -> 200", async () => {
    const earlier = new Date(MTIME.getTime() - 1000).toUTCString();
    const res = await (await appWith()).request("/digits.txt", { headers: { "if-modified-since": earlier } });
    expect(res.status).toBe(200);
  });

  it("If-Modified-Since is ignored when If-None-Match is present", async () => {
    const headers = { "if-none-match": 'W/"a-1"', "if-modified-since": MTIME.toUTCString() };
    expect((await (await appWith()).request("/digits.txt", { headers })).status).toBe(200);
  });

  it("invalid If-Modified-Since is ignored", async () => {
    const res = await (await appWith()).request("/digits.txt", { headers: { "if-modified-since": "yesterday" } });
    expect(res.status).toBe(200);
  });

  it("etag = false sends no ETag and ignores a matching one", async () => {
    const app = await appWith({ etag: false });
    expect((await app.request("/digits.txt")).headers.get("etag")).toBeNull();
    expect((await app.request("/digits.txt", { headers: { "if-none-match": etag } })).status).toBe(200);
  });

  it("max_age 0 sends no Cache-Control", async () => {
    expect((await (await appWith()).request("/digits.txt")).headers.get("cache-control")).toBeNull();
  });
});

describe("ranges (RFC 9110 §14)", () => {
  it.each([
    ["bytes=0-3", "0123", "bytes 0-3/10"],
    ["bytes=-3", "789", "bytes 7-9/10"],
    ["bytes=6-", "6789", "bytes 6-9/10"],
    ["bytes=8-100", "89", "bytes 8-9/10"],
    ["bytes=-100", "0123456789", "bytes 0-9/10"],
  ])("%s -> 206 %s", async (range, body, contentRange) => {
    const res = await (await appWith()).request("/digits.txt", { headers: { range } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(contentRange);
    expect(res.headers.get("content-length")).toBe(String(body.length));
    expect(await res.text()).toBe(body);
  });

  it.each(["bytes=10-", "bytes=20-30", "bytes=-0"])("%s -> 416 naming the length", async (range) => {
    const res = await (await appWith()).request("/digits.txt", { headers: { range } });
    expect(res.status).toBe(416);
    expect(res.headers.get("content-range")).toBe("bytes */10");
  });

  it.each(["bytes=0-1,4-5", "bytes=5-2", "items=0-1", "bytes=x-"])("%s is ignored: 200 in full", async (range) => {
    const res = await (await appWith()).request("/digits.txt", { headers: { range } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("0123456789");
  });

  it("If-Range with Last-Modified -> 206", async () => {
    const headers = { range: "bytes=0-1", "if-range": MTIME.toUTCString() };
    const res = await (await appWith()).request("/digits.txt", { headers });
    expect(res.status).toBe(206);
    expect(await res.text()).toBe("01");
  });

  it("If-Range with a stale date -> 200 in full", async () => {
    const headers = { range: "bytes=0-1", "if-range": new Date(MTIME.getTime() - 60_000).toUTCString() };
    const res = await (await appWith()).request("/digits.txt", { headers });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("0123456789");
  });

  it("If-Range with the weak ETag never matches -> 200", async () => {
    const app = await appWith();
    const etag = (await app.request("/digits.txt")).headers.get("etag")!;
    const res = await app.request("/digits.txt", { headers: { range: "bytes=0-1", "if-range": etag } });
    expect(res.status).toBe(200);
  });

  it("304 wins over Range", async () => {
    const headers = { range: "bytes=0-1", "if-modified-since": MTIME.toUTCString() };
    expect((await (await appWith()).request("/digits.txt", { headers })).status).toBe(304);
  });

  it("parseRange clamps and refuses as RFC 9110 §14.1.1 says", () => {
    expect(parseRange("bytes=0-0", 1)).toEqual({ start: 0, end: 0 });
    expect(parseRange("BYTES = 2-", 5)).toEqual({ start: 2, end: 4 });
    expect(parseRange("bytes=5-", 5)).toBe("unsatisfiable");
    expect(parseRange("bytes=-", 5)).toBeUndefined();
    expect(parseRange("bytes=99999999999999999999-", 5)).toBe("unsatisfiable");
  });
});

describe("HEAD", () => {
  it("has the GET headers and no body", async () => {
    const res = await (await appWith()).request("/digits.txt", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("10");
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("etag")).not.toBeNull();
    expect(await res.text()).toBe("");
  });

  it("ignores Range (defined for GET only)", async () => {
    const res = await (await appWith()).request("/digits.txt", { method: "HEAD", headers: { range: "bytes=0-1" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("10");
  });
});

describe("never serves what is outside the root", () => {
  it.each([
    ["dot segments", "http://x/%2e%2e/%2e%2e/secret.txt"],
    ["dot segments, raw", "http://x/../secret.txt"],
    ["encoded slash", "http://x/..%2fsecret.txt"],
    ["encoded slash in a segment", "http://x/docs%2f..%2f..%2fsecret.txt"],
    ["encoded backslash", "http://x/..%5csecret.txt"],
    ["NUL", "http://x/digits.txt%00.html"],
    ["symlink to a file outside", "http://x/leak.txt"],
    ["symlink to a directory outside", "http://x/leakdir/index.html"],
    ["index through a symlink outside", "http://x/leakdir/"],
  ])("%s", async (_, url) => {
    const res = await (await appWith({ fallthrough: false })).request(new Request(url));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await res.text()).not.toContain(SECRET);
  });

  it("symlink to a file outside -> 404 even with fallthrough", async () => {
    const res = await (await appWith()).request("/leak.txt");
    expect(res.status).toBe(404);
  });

  it("NUL in the path -> 400", async () => {
    expect((await (await appWith()).request(new Request("http://x/digits.txt%00"))).status).toBe(400);
  });

  it("symlink inside the root to a file inside is served", async () => {
    const res = await (await appWith()).request("/alias.txt");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("0123456789");
  });
});

describe("dotfiles", () => {
  it.each(["/.env", "/.git/config", "/.git/", "/docs/../.env"])("%s is 404", async (path) => {
    const res = await (await appWith()).request(path);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain("PASSWORD");
  });

  it("/.well-known/ is served", async () => {
    expect(await (await (await appWith()).request("/.well-known/security.txt")).text()).toBe("Contact: x");
  });

  it("dotfiles = true serves them", async () => {
    expect(await (await (await appWith({ dotfiles: true })).request("/.env")).text()).toBe("PASSWORD=1");
  });
});

describe("fallthrough", () => {
  it("missing file calls the next route", async () => {
    const res = await (await appWith()).request("/nothing-here.php");
    expect(await res.text()).toBe("fell through");
  });

  it("POST calls the next route", async () => {
    const res = await (await appWith()).request("/digits.txt", { method: "POST" });
    expect(await res.text()).toBe("fell through");
  });

  it("fallthrough = false: missing file -> 404", async () => {
    const res = await (await appWith({ fallthrough: false })).request("/nothing-here.php");
    expect(res.status).toBe(404);
  });

  it("fallthrough = false: POST -> 405 with Allow", async () => {
    const res = await (await appWith({ fallthrough: false })).request("/digits.txt", { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });

  it("mounted with app.get, HEAD is answered too", async () => {
    const handler = createGateway("static", nodeRuntime, { root });
    const app = new Hono().get("*", handler);
    const res = await app.request("/digits.txt", { method: "HEAD" });
    expect(res.headers.get("content-length")).toBe("10");
  });
});

describe("large files", () => {
  it("5 MB file is streamed in full with its length", async () => {
    const res = await (await appWith()).request("/big.bin");
    expect(res.headers.get("content-length")).toBe(String(BIG));
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.length).toBe(BIG);
    expect(bytes[BIG - 1]).toBe((BIG - 1) % 251);
  });

  it("range deep inside a 5 MB file", async () => {
    const res = await (await appWith()).request("/big.bin", { headers: { range: "bytes=4000000-4000009" } });
    expect(res.status).toBe(206);
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual(
      Array.from({ length: 10 }, (_, i) => (4_000_000 + i) % 251),
    );
  });
});

describe("open files", () => {
  it("a file opened for an answer is closed: 304, HEAD, 416, a whole body, a body the client drops", async () => {
    // The runtime's files, counted: every file the gateway opens must be closed once its answer is done.
    const open = new Set<object>();
    const fs = nodeRuntime.fs!;
    const counting: Runtime = {
      ...nodeRuntime,
      fs: {
        ...fs,
        async openRead(path) {
          const file = await fs.openRead(path);
          if (!file) return null;
          const handle = {};
          open.add(handle);
          const closed = () => open.delete(handle);
          // The stream closes the file when it ends or is cancelled (OpenedFile.readStream).
          const readStream = (range?: { start: number; end: number }) => {
            const reader = file.readStream(range).getReader();
            return new ReadableStream<Uint8Array>({
              async pull(controller) {
                const { done, value } = await reader.read();
                if (done) closed();
                return done ? controller.close() : controller.enqueue(value);
              },
              cancel: (reason) => (closed(), reader.cancel(reason)),
            });
          };
          return { stat: file.stat, readStream, close: () => (closed(), file.close()) };
        },
      },
    };
    const handler = createGateway("static", counting, { root });
    await handler.ready;
    const app = new Hono().all("*", handler);
    const etag = (await app.request("/digits.txt", { method: "HEAD" })).headers.get("etag")!;
    expect((await app.request("/digits.txt", { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await app.request("/digits.txt", { method: "HEAD" })).status).toBe(200);
    expect((await app.request("/digits.txt", { headers: { range: "bytes=50-" } })).status).toBe(416);
    expect((await app.request("/empty.txt")).status).toBe(200);
    expect(await (await app.request("/digits.txt")).text()).toBe("0123456789");
    expect(open.size).toBe(0);
    const dropped = await app.request("/big.bin");
    expect(open.size).toBe(1);
    await dropped.body!.cancel();
    expect(open.size).toBe(0);
  });
});

describe("setup", () => {
  it("missing root -> ready rejects naming the route and the root", async () => {
    const handler = createGateway("static", nodeRuntime, { root: join(dir, "nope") }, "route 3 (static /assets/*)");
    await expect(handler.ready).rejects.toThrow(/route 3 \(static \/assets\/\*\).*nope/);
  });

  it("root that is a file -> ready rejects", async () => {
    await expect(createGateway("static", nodeRuntime, { root: join(dir, "secret.txt") }).ready).rejects.toThrow(/not a directory/);
  });

  it("runtime without fs -> throws at setup naming the route", () => {
    const { fs: _, ...rest } = nodeRuntime;
    const workerd: Runtime = { ...rest, name: "workerd" };
    expect(() => createGateway("static", workerd, { root }, "route 1 (static *)")).toThrow(/route 1 \(static \*\).*filesystem/);
  });

  it("unknown option is a schema error", () => {
    expect(() => createGateway("static", nodeRuntime, { root, listing: true })).toThrow(/^listing: unknown key/);
    expect(() => createGateway("fastcgi", nodeRuntime, { root: 5, backend: "127.0.0.1:9000" })).toThrow(/^root: expected a string, found integer 5$/);
    expect(() => createGateway("fastcgi", nodeRuntime, { root, spawn: { command: ["php-cgi"], procs: 0 } })).toThrow(/^spawn\.procs: /);
  });
});
