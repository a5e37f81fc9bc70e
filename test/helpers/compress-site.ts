// A site to compress, for the compression tests on every runtime: static
// files (text, a small one, an image, files with pre-compressed copies made
// by Debian's brotli and gzip, one whose copy is stale) and a CGI script
// answering as its query string asks (its own Content-Encoding, Cache-Control:
// no-transform, 204, a strong ETag, an answer sent in two parts with a pause
// the test ends); an HTTP client that leaves bodies encoded, and the real
// tools that decode them.

import { spawnSync } from "node:child_process";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { brotliDecompressSync, constants } from "node:zlib";
import { makeCgiTree, type CgiTree } from "./cgi-fixtures.ts";

/** Text that compresses, different on every line, `lines` long. */
export function text(lines: number): string {
  return Array.from({ length: lines }, (_, i) => `line ${i}: the quick brown fox ${(i * 7919) % 1000} jumps over the lazy dog\n`).join("");
}

export const BIG = text(2000);

const SCRIPT = `#!/bin/sh
# Answers as its query string asks.
body() { i=0; while [ $i -lt 300 ]; do echo "line $i of a compressible answer"; i=$((i+1)); done; }
case "$QUERY_STRING" in
  encoded) printf 'Content-Type: text/plain\\r\\nContent-Encoding: gzip\\r\\n\\r\\n'; body | gzip -c ;;
  no-transform) printf 'Content-Type: text/plain\\r\\nCache-Control: public, no-transform\\r\\n\\r\\n'; body ;;
  no-content) printf 'Status: 204 No Content\\r\\nContent-Type: text/plain\\r\\n\\r\\n' ;;
  strong-etag) printf 'Content-Type: application/json\\r\\nETag: "v1"\\r\\nContent-Length: 6000\\r\\n\\r\\n'; head -c 6000 /dev/zero | tr '\\0' 'a' ;;
  small) printf 'Content-Type: text/plain\\r\\nContent-Length: 6\\r\\n\\r\\nsmall\\n' ;;
  image) printf 'Content-Type: image/png\\r\\n\\r\\n'; body ;;
  two-parts)
    printf 'Content-Type: text/plain\\r\\n\\r\\n'
    i=0; while [ $i -lt 50 ]; do echo "first part line $i"; i=$((i+1)); done
    while [ ! -e "$DOCUMENT_ROOT/../go" ]; do sleep 0.05; done
    echo "second part" ;;
  *) printf 'Content-Type: text/plain\\r\\nX-Powered-By: sh\\r\\n\\r\\n'; body ;;
esac
`;

/** What answer.sh sends as a body. */
export const SCRIPT_BODY = Array.from({ length: 300 }, (_, i) => `line ${i} of a compressible answer\n`).join("");

export const TWO_PARTS = Array.from({ length: 50 }, (_, i) => `first part line ${i}\n`).join("") + "second part\n";

export interface Site {
  tree: CgiTree;
  /** Ends answer.sh?two-parts' pause. */
  go(): void;
  /** A postern.toml serving the site with `compress` at the top level. */
  config(compress: string): string;
}

export function makeSite(): Site {
  const tree = makeCgiTree([{ path: "www/cgi-bin/answer.sh", text: SCRIPT, mode: 0o755 }]);
  const www = tree.root;
  const write = (name: string, data: string | Uint8Array) => {
    mkdirSync(join(www, name, ".."), { recursive: true });
    writeFileSync(join(www, name), data);
  };
  write("big.txt", BIG);
  write("plain/big.txt", BIG);
  write("small.txt", "tiny\n");
  write("pic.png", BIG);
  write("pre/app.js", `const lines = ${JSON.stringify(text(300))};\n`);
  write("js/app.js", `const lines = ${JSON.stringify(text(300))};\n`);
  write("pre/app.js.br", run(["brotli", "-c", join(www, "pre/app.js")]));
  write("pre/app.js.gz", run(["gzip", "-9", "-c", join(www, "pre/app.js")]));
  write("pre/old.css", `body { color: red; }\n${text(100)}`);
  write("pre/old.css.gz", run(["gzip", "-c"], "stale copy of an earlier old.css\n"));
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(join(www, "pre/old.css.gz"), past, past);
  return {
    tree,
    go: () => writeFileSync(join(tree.dir, "go"), ""),
    config: (compress) => `compress = ${compress}

[[routes]]
path = "/cgi-bin/*"
gateway = "cgi"
root = "${www}"
headers = { set = { "X-Frame-Options" = "DENY" }, remove = ["X-Powered-By"] }

[[routes]]
path = "/plain/*"
gateway = "static"
root = "${www}"
compress = []

[[routes]]
path = "/js/*"
gateway = "static"
root = "${www}"
compress_types = ["application/json"]

[[routes]]
path = "/pre/*"
gateway = "static"
root = "${www}"
precompressed = ["br", "gzip"]

[[routes]]
path = "*"
gateway = "static"
root = "${www}"
fallthrough = false
headers = { set = { "X-Frame-Options" = "DENY" } }
`,
  };
}

function run(cmd: string[], input?: string): Buffer {
  const result = spawnSync(cmd[0]!, cmd.slice(1), { input });
  if (result.status !== 0) throw new Error(`${cmd.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** The real tool decoding each encoding (Debian zstd, brotli, gzip). */
const DECODERS: Record<string, string[]> = { zstd: ["zstd", "-d", "-c"], br: ["brotli", "-d", "-c"], gzip: ["gzip", "-d", "-c"] };

/** `body` decoded by the real tool for `encoding`; throws when the tool refuses it. */
export function decode(encoding: string, body: Uint8Array): string {
  const [tool, ...args] = DECODERS[encoding]!;
  const result = spawnSync(tool!, args, { input: body });
  if (result.status !== 0) throw new Error(`${tool} -d: ${result.stderr}`);
  return result.stdout.toString();
}

/**
 * What the first bytes of a stream decode to: gzip and zstd's tools print
 * what a cut stream holds before they complain; brotli's prints nothing of
 * it, so Node's decoder reads that one, told to flush what it has.
 */
export function decodeStart(encoding: string, body: Uint8Array): string {
  if (encoding === "br") return brotliDecompressSync(body, { finishFlush: constants.BROTLI_OPERATION_FLUSH }).toString();
  const [tool, ...args] = DECODERS[encoding]!;
  return spawnSync(tool!, args, { input: body }).stdout.toString();
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request whose answer's body is kept as sent (node:http never decodes it, fetch would). */
export function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * GET `url` and read its body until `ready` says what arrived is enough,
 * then call `then` and read the rest: the bytes before and the whole body.
 */
export function getInTwoParts(url: string, headers: Record<string, string>, ready: (first: Buffer) => boolean, then: () => void): Promise<Answer & { first: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      let first: Buffer | undefined;
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        if (first === undefined && ready(Buffer.concat(chunks))) {
          first = Buffer.concat(chunks);
          then();
        }
      });
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), first: first ?? Buffer.alloc(0) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
