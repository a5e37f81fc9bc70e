// The behaviour of answer compression, pre-compressed files and response
// headers, run against postern serving test/helpers/compress-site.ts on each
// runtime (test/compress-runtimes.test.ts): the bodies decoded by Debian's
// zstd, brotli and gzip byte for byte, and every case where an answer must
// go as it is.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BIG, decode, decodeStart, get, getInTwoParts, makeSite, SCRIPT_BODY, TWO_PARTS, type Site } from "./compress-site.ts";

export interface Server {
  url: string;
  stderr(): string;
  stop(): Promise<void>;
}

const ALL = ["zstd", "br", "gzip"] as const;

/** The suite for a runtime offering `offered` (of zstd, br, gzip), served by `start` from a postern.toml file. */
export function compressionSuite(offered: readonly string[], start: (configFile: string) => Promise<Server>): void {
  let site: Site;
  let server: Server;
  let url: string;
  beforeAll(async () => {
    site = makeSite();
    const file = join(site.tree.dir, "postern.toml");
    (await import("node:fs")).writeFileSync(file, site.config('["zstd", "br", "gzip"]'));
    server = await start(file);
    url = server.url;
  });
  afterAll(async () => {
    await server?.stop();
    site?.tree.remove();
  });

  describe("compressed answers", () => {
    test.each(offered)("a static file sent as %s decodes to its bytes", async (encoding) => {
      const answer = await get(`${url}/big.txt`, { "accept-encoding": encoding });
      expect(answer.status).toBe(200);
      expect(answer.headers["content-encoding"]).toBe(encoding);
      expect(answer.headers["content-length"]).toBeUndefined();
      expect(answer.headers["vary"]).toBe("Accept-Encoding");
      expect(answer.headers["accept-ranges"]).toBeUndefined();
      expect(answer.body.length).toBeLessThan(BIG.length / 3);
      expect(decode(encoding, answer.body)).toBe(BIG);
    });

    test.each(offered)("a CGI answer of unknown length sent as %s decodes to its bytes", async (encoding) => {
      const answer = await get(`${url}/cgi-bin/answer.sh`, { "accept-encoding": encoding });
      expect(answer.headers["content-encoding"]).toBe(encoding);
      expect(decode(encoding, answer.body)).toBe(SCRIPT_BODY);
    });

    test.each(ALL.filter((e) => !offered.includes(e)))("%s, which the runtime lacks, is never sent", async (encoding) => {
      const answer = await get(`${url}/big.txt`, { "accept-encoding": encoding });
      expect(answer.headers["content-encoding"]).toBeUndefined();
      expect(answer.headers["vary"]).toBe("Accept-Encoding");
      expect(answer.body.toString()).toBe(BIG);
      expect(server.stderr()).toContain(`compress: the`);
    });

    test("the route's order decides between codings of equal weight; a higher q-value wins over it", async () => {
      const first = (await get(`${url}/big.txt`, { "accept-encoding": "gzip, br, zstd" })).headers["content-encoding"];
      expect(first).toBe(offered[0]);
      expect((await get(`${url}/big.txt`, { "accept-encoding": "br;q=0.5, gzip" })).headers["content-encoding"]).toBe("gzip");
      expect((await get(`${url}/big.txt`, { "accept-encoding": "*" })).headers["content-encoding"]).toBe(offered[0]);
      expect((await get(`${url}/big.txt`, { "accept-encoding": `${offered[0]};q=0, *` })).headers["content-encoding"]).toBe(offered[1]);
      expect((await get(`${url}/big.txt`, { "accept-encoding": "x-gzip" })).headers["content-encoding"]).toBe("gzip");
    });

    test("q=0, identity alone and no Accept-Encoding send the answer as it is, with Vary", async () => {
      const cases: Record<string, string>[] = [{ "accept-encoding": "gzip;q=0, br;q=0, zstd;q=0" }, { "accept-encoding": "identity" }, {}];
      for (const headers of cases) {
        const answer = await get(`${url}/big.txt`, headers);
        expect(answer.headers["content-encoding"]).toBeUndefined();
        // Bun's server sends any streamed body chunked, whatever Content-Length said.
        expect(answer.headers["content-length"] ?? String(BIG.length)).toBe(String(BIG.length));
        expect(answer.headers["vary"]).toBe("Accept-Encoding");
        expect(answer.body.toString()).toBe(BIG);
      }
    });

    test("a streamed answer's first part arrives compressed before the backend has finished", async () => {
      const encoding = "gzip";
      const answer = await getInTwoParts(
        `${url}/cgi-bin/answer.sh?two-parts`,
        { "accept-encoding": encoding },
        // The script waits for the "go" file before its last line: all of the first part must arrive before it exists.
        (first) => decodeStart(encoding, first).includes("first part line 49\n"),
        () => site.go(),
      );
      expect(decodeStart(encoding, answer.first)).not.toContain("second part");
      expect(answer.headers["content-encoding"]).toBe(encoding);
      expect(decode(encoding, answer.body)).toBe(TWO_PARTS);
    });
  });

  test("a client gone in the middle of a compressed answer leaves the server serving", async () => {
    const { request } = await import("node:http");
    await new Promise<void>((resolve, reject) => {
      const req = request(`${url}/cgi-bin/answer.sh?two-parts`, { headers: { "accept-encoding": offered[0]! } }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", (err) => (req.destroyed ? undefined : reject(err)));
      req.end();
    });
    site.go();
    const answer = await get(`${url}/big.txt`, { "accept-encoding": offered[0]! });
    expect(decode(offered[0]!, answer.body)).toBe(BIG);
  });

  describe("answers sent as they are", () => {
    const accept = { "accept-encoding": "zstd, br, gzip" };

    test("a Range request gets its range of the uncompressed file", async () => {
      const answer = await get(`${url}/big.txt`, { ...accept, range: "bytes=0-99" });
      expect(answer.status).toBe(206);
      expect(answer.headers["content-encoding"]).toBeUndefined();
      expect(answer.body.toString()).toBe(BIG.slice(0, 100));
      // A Range request to a backend (which ignores it here) is not compressed either.
      const cgi = await get(`${url}/cgi-bin/answer.sh`, { ...accept, range: "bytes=0-99" });
      expect(cgi.headers["content-encoding"]).toBeUndefined();
      expect(cgi.body.toString()).toBe(SCRIPT_BODY);
    });

    test("HEAD gets the headers GET would, and no body", async () => {
      const head = await get(`${url}/big.txt`, { "accept-encoding": offered[0]! }, "HEAD");
      expect(head.headers["content-encoding"]).toBe(offered[0]);
      // Not the uncompressed length; Deno's and Bun's servers write "0" on a bodiless HEAD answer that has none.
      expect(head.headers["content-length"] ?? "0").toBe("0");
      expect(head.headers["vary"]).toBe("Accept-Encoding");
      expect(head.body.length).toBe(0);
    });

    test("204 and 304 have no body to compress; the 304 still says Vary", async () => {
      const none = await get(`${url}/cgi-bin/answer.sh?no-content`, accept);
      expect(none.status).toBe(204);
      expect(none.headers["content-encoding"]).toBeUndefined();
      const etag = (await get(`${url}/big.txt`, accept)).headers["etag"] as string;
      const unchanged = await get(`${url}/big.txt`, { ...accept, "if-none-match": etag });
      expect(unchanged.status).toBe(304);
      expect(unchanged.headers["content-encoding"]).toBeUndefined();
      expect(unchanged.headers["vary"]).toBe("Accept-Encoding");
    });

    test("a backend's own Content-Encoding is kept, never compressed twice", async () => {
      const answer = await get(`${url}/cgi-bin/answer.sh?encoded`, accept);
      expect(answer.headers["content-encoding"]).toBe("gzip");
      expect(decode("gzip", answer.body)).toBe(SCRIPT_BODY);
    });

    test("Cache-Control: no-transform is obeyed", async () => {
      const answer = await get(`${url}/cgi-bin/answer.sh?no-transform`, accept);
      expect(answer.headers["content-encoding"]).toBeUndefined();
      expect(answer.body.toString()).toBe(SCRIPT_BODY);
    });

    test("an answer under compress_min_size is sent as it is", async () => {
      expect((await get(`${url}/small.txt`, accept)).headers["content-encoding"]).toBeUndefined();
      expect((await get(`${url}/cgi-bin/answer.sh?small`, accept)).body.toString()).toBe("small\n");
    });

    test("a type not worth compressing is sent as it is, without Vary", async () => {
      for (const path of ["/pic.png", "/cgi-bin/answer.sh?image", "/js/app.js"]) {
        const answer = await get(`${url}${path}`, accept);
        expect(answer.headers["content-encoding"], path).toBeUndefined();
        expect(answer.headers["vary"], path).toBeUndefined();
      }
    });

    test("a route's compress = [] turns the top level's off", async () => {
      const answer = await get(`${url}/plain/big.txt`, accept);
      expect(answer.headers["content-encoding"]).toBeUndefined();
      expect(answer.headers["vary"]).toBeUndefined();
    });

    test("a strong ETag is weakened and Content-Length dropped on a compressed answer", async () => {
      const answer = await get(`${url}/cgi-bin/answer.sh?strong-etag`, { "accept-encoding": "gzip" });
      expect(answer.headers["content-encoding"]).toBe("gzip");
      expect(answer.headers["etag"]).toBe('W/"v1"');
      expect(answer.headers["content-length"]).toBeUndefined();
      expect(decode("gzip", answer.body)).toBe("a".repeat(6000));
      const plain = await get(`${url}/cgi-bin/answer.sh?strong-etag`);
      expect(plain.headers["etag"]).toBe('"v1"');
    });
  });

  describe("pre-compressed files", () => {
    test("the .br or .gz beside a file is sent to a client that takes it, with the file's type", async () => {
      const js = readFileSync(join(site.tree.root, "pre/app.js"), "utf8");
      for (const [accept, encoding, suffix] of [["br, gzip", "br", ".br"], ["gzip", "gzip", ".gz"]] as const) {
        const answer = await get(`${url}/pre/app.js`, { "accept-encoding": accept });
        expect(answer.headers["content-encoding"]).toBe(encoding);
        expect(answer.headers["content-type"]).toMatch(/^(application|text)\/javascript/);
        expect(answer.headers["vary"]).toBe("Accept-Encoding");
        expect(answer.body.equals(readFileSync(join(site.tree.root, `pre/app.js${suffix}`)))).toBe(true);
        expect(decode(encoding, answer.body)).toBe(js);
      }
    });

    test("a Range request gets the uncompressed file", async () => {
      const answer = await get(`${url}/pre/app.js`, { "accept-encoding": "br", range: "bytes=0-9" });
      expect(answer.status).toBe(206);
      expect(answer.headers["content-encoding"]).toBeUndefined();
      expect(answer.body.toString()).toBe(readFileSync(join(site.tree.root, "pre/app.js"), "utf8").slice(0, 10));
    });

    test("every answer of the route says Vary, an answer in no other encoding too", async () => {
      const answer = await get(`${url}/pre/app.js`);
      expect(answer.headers["content-encoding"]).toBeUndefined();
      expect(answer.headers["vary"]).toBe("Accept-Encoding");
    });

    test("a pre-compressed copy older than its file is passed over", async () => {
      const answer = await get(`${url}/pre/old.css`, { "accept-encoding": "gzip" });
      expect(decode("gzip", answer.body)).toBe(readFileSync(join(site.tree.root, "pre/old.css"), "utf8"));
    });
  });

  describe("response headers", () => {
    test("set and remove apply to a backend's answer", async () => {
      const answer = await get(`${url}/cgi-bin/answer.sh`);
      expect(answer.headers["x-frame-options"]).toBe("DENY");
      expect(answer.headers["x-powered-by"]).toBeUndefined();
    });

    test("and to an error page", async () => {
      const answer = await get(`${url}/missing.html`);
      expect(answer.status).toBe(404);
      expect(answer.headers["x-frame-options"]).toBe("DENY");
    });
  });
}
