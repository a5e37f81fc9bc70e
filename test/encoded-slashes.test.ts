// encoded_slashes ("refuse" | "decode" | "keep", Apache's AllowEncodedSlashes
// Off | On | NoDecode): what each does to a path, on Node, Deno and Bun
// alike, and that in none of them "..%2F" or "%2F..%2F" reaches a file or a
// script outside the root, through a static, a CGI or a FastCGI route.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, test } from "vitest";
import { Hono } from "hono";
import { ENCODED_SLASHES, normalizePath, type EncodedSlashes } from "../src/paths.ts";
import { createApp, gatewaySchemas, type App } from "../gateways/index.ts";
import { parseConfig } from "../src/config.ts";
import type { Runtime } from "../src/runtime.ts";
import { cgi, serve, type RunningServer } from "../runtimes/node/index.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { makeCgiTree, parseShellReport, type CgiTree } from "./helpers/cgi-fixtures.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { freePort } from "./helpers/ports.ts";
import { spawnPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { buildRequest, rawRequest } from "./helpers/raw-http.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");
const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");

describe("normalizePath with encoded_slashes", () => {
  const table: [string, Record<EncodedSlashes, string>][] = [
    ["/a%2Fb", { refuse: "/a%2Fb", decode: "/a/b", keep: "/a%252Fb" }],
    ["/a%2fb", { refuse: "/a%2fb", decode: "/a/b", keep: "/a%252fb" }],
    ["/..%2F..%2Fetc/passwd", { refuse: "/..%2F..%2Fetc/passwd", decode: "/etc/passwd", keep: "/..%252F..%252Fetc/passwd" }],
    ["/%2F..%2F..%2Fetc", { refuse: "/%2F..%2F..%2Fetc", decode: "/etc", keep: "/%252F..%252F..%252Fetc" }],
    ["/a/b/..%2F..%2F..%2Fc", { refuse: "/a/b/..%2F..%2F..%2Fc", decode: "/c", keep: "/a/b/..%252F..%252F..%252Fc" }],
    ["/%2e%2e%2F%2e%2e%2Fx", { refuse: "/..%2F..%2Fx", decode: "/x", keep: "/..%252F..%252Fx" }],
    ["/a%252Fb", { refuse: "/a%252Fb", decode: "/a%252Fb", keep: "/a%252Fb" }],
    ["/a%5Cb", { refuse: "/a%5Cb", decode: "/a%5Cb", keep: "/a%5Cb" }],
  ];
  for (const [path, normal] of table) {
    for (const mode of ENCODED_SLASHES) it(`${mode}: ${path} -> ${normal[mode]}`, () => expect(normalizePath(path, mode)).toBe(normal[mode]));
  }
  it("a path normal in any mode is normal as routing sees it, and never holds a dot segment (property)", () => {
    // "%" starting no escape, before escapes of hex digits: "%%32%65" must not become "%2e".
    const segment = fc.constantFrom("a", "..", ".", "", "%2F", "%2f", "..%2F", "%2e%2e", "%2E", "%252F", "%5C", "b%2Fc", "%%32%65", "%2%65", "%%32%66", "%", "%2");
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 8 }), fc.constantFrom(...ENCODED_SLASHES), (segments, mode) => {
        const normal = normalizePath(`/${segments.join("/")}`, mode);
        expect(normalizePath(normal)).toBe(normal);
        expect(normal.split("/").some((s) => s === ".." || s === ".")).toBe(false);
      }),
    );
  });

  it("is idempotent in every mode", () => {
    for (const [path] of table) for (const mode of ENCODED_SLASHES) expect(normalizePath(normalizePath(path, mode), mode)).toBe(normalizePath(path, mode));
  });
});

/** What lies outside the root and must never be served or run. */
const OUTSIDE = "OUTSIDE-SECRET";
const OUTSIDE_RAN = "OUTSIDE-RAN";

/** Targets that try to leave the root with encoded slashes. */
const ATTACKS = [
  "/..%2F..%2Foutside/secret.txt",
  "/%2F..%2F..%2Foutside/secret.txt",
  "/..%2f..%2foutside%2fsecret.txt",
  "/.%2F..%2F..%2Foutside/secret.txt",
  "/dir/..%2F..%2F..%2Foutside%2Fsecret.txt",
  "/%2e%2e%2F%2e%2e%2Foutside/secret.txt",
  "/..%252F..%252Foutside/secret.txt",
  "/..%5C..%5Coutside/secret.txt",
  "/cgi/..%2F..%2Foutside/run.sh",
  "/cgi/%2F..%2F..%2Foutside%2Frun.sh",
  "/cgi/env.sh/..%2F..%2F..%2Foutside%2Frun.sh",
  "/cgi%2F..%2F..%2Foutside/run.sh",
  "/php/..%2F..%2Foutside/secret.txt",
  "/php/%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
  "/php/..%2F..%2Foutside/secret.php",
  "/%2E%2E%2f%2e%2E%2Foutside/secret.txt",
  "/..%5c..%5coutside/secret.txt",
  "/%%32%65%%32%65/%%32%65%%32%65/outside/secret.txt",
  "/php/%2e%2e%2f%2e%2e%2foutside/secret.php",
  "/cgi/%252e%252e/%252e%252e/outside/run.sh",
];

const RUNTIMES: CliRuntime[] = ["node", "deno", "bun"];

/** www/{public,cgi,php} and, beside www, outside/ with what must stay out of reach. */
function makeTree(): CgiTree {
  const file = 0o644;
  return makeCgiTree([
    { path: "www/public/index.html", text: "PUBLIC-INDEX\n", mode: file },
    { path: "www/public/dir/file.txt", text: "DIR-FILE\n", mode: file },
    { path: "www/public/a%2Fb.txt", text: "LITERAL-NAME\n", mode: file },
    { path: "www/public/d%2Fe/index.html", text: "LITERAL-DIR\n", mode: file },
    { path: "www/cgi/env.sh", fixture: "env.sh", mode: file },
    { path: "www/php/env.php", text: readFileSync(join(FIXTURES, "php/env.php"), "utf8"), mode: file },
    { path: "outside/secret.txt", text: `${OUTSIDE}\n`, mode: file },
    { path: "outside/secret.php", text: `<?php echo "${OUTSIDE}";`, mode: file },
    { path: "outside/run.sh", text: `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n${OUTSIDE_RAN}\\n'\n`, mode: 0o755 },
  ]);
}

function config(port: number, mode: EncodedSlashes, tree: CgiTree, phpPort: number): string {
  return `listen = ["127.0.0.1:${port}"]
access_log = false
encoded_slashes = "${mode}"

[[routes]]
path = "/cgi/*"
gateway = "cgi"
root = ${JSON.stringify(tree.root)}
interpreters = { ".sh" = "sh" }

[[routes]]
path = "/php/*"
gateway = "fastcgi"
backend = "127.0.0.1:${phpPort}"
root = ${JSON.stringify(tree.root)}

[[routes]]
path = "*"
gateway = "static"
root = ${JSON.stringify(join(tree.root, "public"))}
`;
}

const get = async (port: number, target: string) => {
  const answer = await rawRequest(port, buildRequest("GET", target, [["Host", "x"], ["Connection", "close"]]));
  return { status: answer.status, text: answer.body.toString(), location: answer.headers.find(([name]) => name === "location")?.[1] };
};

/** The environment env.sh printed. */
const variables = (text: string) => parseShellReport(text).values;

let fpm: PhpFpm;
let tree: CgiTree;
beforeAll(async () => {
  if (!PHP_FPM) throw new Error("php-fpm is not installed (apt-get install php-fpm)");
  fpm = await startPhpFpm(PHP_FPM);
  tree = makeTree();
}, 30_000);
afterAll(async () => {
  await fpm?.stop();
  tree?.remove();
});

for (const runtime of RUNTIMES) {
  for (const mode of ENCODED_SLASHES) {
    describe(`encoded_slashes = "${mode}" on ${runtime}`, () => {
      let port = 0;
      let stop: () => Promise<void> = async () => undefined;
      beforeAll(async () => {
        port = await freePort();
        const file = join(tree.dir, `postern-${runtime}-${mode}.toml`);
        writeFileSync(file, config(port, mode, tree, fpm.port));
        const { proc, log } = spawnPostern(runtime, ["serve", "--config", file]);
        stop = () => stopProcessGroup(proc, "SIGTERM");
        await waitForPort(proc, port, `postern on ${runtime}`, log);
      }, 60_000);
      afterAll(() => stop());

      test.each(ATTACKS)("%s reaches nothing outside the root", async (target) => {
        const answer = await get(port, target);
        expect(answer.text).not.toContain(OUTSIDE);
        expect(answer.text).not.toContain(OUTSIDE_RAN);
        expect(answer.text).not.toMatch(/root:x:0:0/);
        expect(answer.status).not.toBe(500);
      });

      it("a malformed escape is 400: no escape is decoded twice into a dot segment or a slash", async () => {
        expect((await get(port, "/x/%%32%65%%32%65/dir/file.txt")).status).toBe(400);
        expect((await get(port, "/dir%2%66file.txt")).status).toBe(400);
      });

      if (mode === "refuse") {
        it("an encoded slash is 404, in a file's path and a script's", async () => {
          expect((await get(port, "/dir%2Ffile.txt")).status).toBe(404);
          expect((await get(port, "/a%2Fb.txt")).status).toBe(404);
          expect((await get(port, "/cgi/env.sh/x%2Fy")).status).toBe(404);
          expect((await get(port, "/php/env.php/x%2Fy")).status).toBe(404);
        });
      }

      if (mode === "decode") {
        it("an encoded slash is a slash before routing", async () => {
          expect(await get(port, "/dir%2Ffile.txt")).toMatchObject({ status: 200, text: "DIR-FILE\n" });
          const cgi = await get(port, "/cgi%2Fenv.sh/x%2Fy");
          expect(cgi.status).toBe(200);
          // REQUEST_URI keeps the target as the client sent it.
          expect(variables(cgi.text)).toMatchObject({ SCRIPT_NAME: "/cgi/env.sh", PATH_INFO: "/x/y", REQUEST_URI: "/cgi%2Fenv.sh/x%2Fy" });
        });
      }

      if (mode === "keep") {
        it("an encoded slash stays %2F: in a file's name, in PATH_INFO", async () => {
          expect(await get(port, "/a%2Fb.txt")).toMatchObject({ status: 200, text: "LITERAL-NAME\n" });
          expect((await get(port, "/dir%2Ffile.txt")).status).toBe(404);
          const cgi = await get(port, "/cgi/env.sh/x%2Fy");
          expect(cgi.status).toBe(200);
          expect(variables(cgi.text)).toMatchObject({ SCRIPT_NAME: "/cgi/env.sh", PATH_INFO: "/x%2Fy", REQUEST_URI: "/cgi/env.sh/x%2Fy" });
          const php = await get(port, "/php/env.php/x%2Fy");
          expect(php.status).toBe(200);
          expect((JSON.parse(php.text) as { server: Record<string, string> }).server).toMatchObject({ PATH_INFO: "/x%2Fy", SCRIPT_NAME: "/php/env.php" });
        });

        it("a directory named with %2F is redirected to its trailing slash as the client spelt it", async () => {
          expect(await get(port, "/d%2Fe?q=1")).toMatchObject({ status: 301, location: "/d%2Fe/?q=1" });
          expect(await get(port, "/d%2Fe/")).toMatchObject({ status: 200, text: "LITERAL-DIR\n" });
        });
      }
    });
  }
}

describe("serve(app, { encodedSlashes }) for a hono app of one's own", () => {
  const handler = cgi({ root: FIXTURES, interpreters: { ".sh": "sh" } });
  const servers: RunningServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await handler.close();
  });
  const start = async (encodedSlashes: EncodedSlashes) => {
    const app = new Hono();
    app.all("/cgi/*", handler);
    const server = await serve(app, { listen: ["127.0.0.1:0"], encodedSlashes });
    servers.push(server);
    const addr = server.addresses[0]!;
    return addr.kind === "tcp" ? addr.port : 0;
  };

  test.each<[EncodedSlashes, number, string | undefined]>([
    ["refuse", 404, undefined],
    ["decode", 200, "/x/y"],
    ["keep", 200, "/x%2Fy"],
  ])("%s: %d, PATH_INFO %s", async (mode, status, pathInfo) => {
    const answer = await get(await start(mode), "/cgi/env.sh/x%2Fy");
    expect(answer.status).toBe(status);
    if (pathInfo !== undefined) expect(variables(answer.text).PATH_INFO).toBe(pathInfo);
  });
});

describe("createApp's app served as Workers serve it, its path not normalised by a server", () => {
  const runtime: Runtime = { ...nodeRuntime, logAccess: () => undefined, logError: () => undefined };
  const apps: App[] = [];
  afterAll(() => Promise.all(apps.map((a) => a.close())));
  const appFor = (mode: EncodedSlashes) => {
    const toml = `encoded_slashes = "${mode}"\n\n[[routes]]\npath = "/cgi/*"\ngateway = "cgi"\nroot = ${JSON.stringify(FIXTURES)}\ninterpreters = { ".sh" = "sh" }\n`;
    const app = createApp(parseConfig(toml, "test.toml", gatewaySchemas), runtime, FIXTURES);
    apps.push(app);
    return app;
  };
  const env = { conn: { remoteAddress: "127.0.0.1", remotePort: 1, localAddress: "127.0.0.1", localPort: 80, tls: false, httpVersion: "1.1" } };
  const fetchIn = async (mode: EncodedSlashes, url: string, init?: RequestInit) => {
    const app = appFor(mode);
    await app.ready;
    const res = await app.app.fetch(new Request(url, init), env);
    return { status: res.status, vars: variables(await res.text()) };
  };

  it('"decode": the gateway maps the decoded path, REQUEST_URI is the client\'s, a body still arrives', async () => {
    const answer = await fetchIn("decode", "http://x/cgi%2Fenv.sh/x%2Fy?q=1", { method: "POST", body: "hello", headers: { "content-length": "5" } });
    expect(answer.status).toBe(200);
    expect(answer.vars).toMatchObject({ SCRIPT_NAME: "/cgi/env.sh", PATH_INFO: "/x/y", REQUEST_URI: "/cgi%2Fenv.sh/x%2Fy?q=1", QUERY_STRING: "q=1", stdin_length: "5" });
  });

  it('"keep": %2F stays in PATH_INFO', async () => {
    const answer = await fetchIn("keep", "http://x/cgi/env.sh/x%2Fy");
    expect(answer.status).toBe(200);
    expect(answer.vars).toMatchObject({ PATH_INFO: "/x%2Fy", REQUEST_URI: "/cgi/env.sh/x%2Fy" });
  });

  it('"refuse": 404', async () => {
    expect((await fetchIn("refuse", "http://x/cgi/env.sh/x%2Fy")).status).toBe(404);
  });

  it.each(ENCODED_SLASHES)("%s: an encoded ../ leaves no route's root", async (mode) => {
    const answer = await fetchIn(mode, "http://x/cgi/..%2F..%2F..%2Fetc%2Fpasswd");
    expect(answer.status).toBe(404);
  });
});

describe("a local redirect (RFC 3875 §6.2.2) to a path with an encoded slash", () => {
  let loop: CgiTree;
  let app: App | undefined;
  beforeAll(() => {
    // Sends the client back to itself, spelt with an encoded slash.
    loop = makeCgiTree([{ path: "www/cgi/loop.sh", text: "#!/bin/sh\nprintf 'Location: /cgi%%2Floop.sh\\r\\n\\r\\n'\n", mode: 0o644 }]);
  });
  afterAll(async () => {
    await app?.close();
    loop?.remove();
  });

  it('"decode": a chain of them is still cut after the most allowed', async () => {
    const runtime: Runtime = { ...nodeRuntime, logAccess: () => undefined, logError: () => undefined };
    const toml = `encoded_slashes = "decode"\n\n[[routes]]\npath = "/cgi/*"\ngateway = "cgi"\nroot = ${JSON.stringify(loop.root)}\ninterpreters = { ".sh" = "sh" }\n`;
    app = createApp(parseConfig(toml, "test.toml", gatewaySchemas), runtime, loop.root);
    await app.ready;
    const res = await app.app.fetch(new Request("http://x/cgi/loop.sh"), {});
    expect(res.status).toBe(500);
  }, 60_000);
});
