// Rewrites, redirects and route hosts in front of a real php-fpm, in postern
// on Node and in a Cloudflare Worker (workerd, `wrangler dev`, FastCGI over
// cloudflare:sockets): the app is built the same way there, so the rules and
// the host routes behave the same. PHP sees SCRIPT_NAME and PATH_INFO of the
// new path and REQUEST_URI as the client sent it.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern } from "./helpers/postern.ts";
import { rawRequest, type RawResponse } from "./helpers/raw-http.ts";
import { WRANGLER_NODE, wranglerDev, writeCheckoutWorkerConfig } from "./helpers/wrangler.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const FIXTURES = join(import.meta.dirname, "fixtures");

const config = (phpPort: number) => `
[[redirects]]
match = "^/old/(.*)$"
to = "/app/$1"
status = 307

[[rewrites]]
match = "^/app/(.*)$"
to = "/php/env.php/$1?rewritten=1"

[[rewrites]]
match = "^/loop/(.*)$"
to = "/loop/a/$1"

[[routes]]
path = "/php/*"
host = ["a.example", "*.b.example"]
gateway = "fastcgi"
backend = "127.0.0.1:${phpPort}"
root = "${FIXTURES}"
params = { SITE = "a" }

[[routes]]
path = "/php/*"
gateway = "fastcgi"
backend = "127.0.0.1:${phpPort}"
root = "${FIXTURES}"
params = { SITE = "default" }
`;

interface Served {
  port: number;
  stop(): Promise<void>;
}

const TARGETS: { name: string; skip?: string; start(toml: string): Promise<Served> }[] = [
  {
    name: "node",
    async start(toml) {
      const postern = await startPostern(toml);
      return { port: Number(new URL(postern.url).port), stop: () => postern.stop() };
    },
  },
  {
    name: "workerd",
    ...(WRANGLER_NODE ? {} : { skip: "wrangler needs Node >= 22" }),
    async start(toml) {
      const dir = mkdtempSync(join(tmpdir(), "postern-rewrite-workerd-"));
      writeCheckoutWorkerConfig(dir, "postern-rewrites", join(import.meta.dirname, "conformance/workerd/worker.ts"), ["[vars]", `POSTERN_TOML = ${JSON.stringify(toml)}`]);
      const dev = await wranglerDev(dir).catch((err: unknown) => {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      });
      return {
        port: Number(new URL(dev.url).port),
        async stop() {
          await dev.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

describe.skipIf(!PHP_FPM).each(TARGETS)("on $name", (target) => {
  let fpm: PhpFpm;
  let served: Served | undefined;

  beforeAll(async () => {
    if (target.skip) return;
    fpm = await startPhpFpm(PHP_FPM!);
    served = await target.start(config(fpm.port));
  }, 90_000);

  afterAll(async () => {
    await served?.stop();
    await fpm?.stop();
  });

  const get = (path: string, host = "t.example"): Promise<RawResponse> =>
    rawRequest(served!.port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, 30_000);
  const server = async (path: string, host?: string): Promise<Record<string, string>> => {
    const answer = await get(path, host);
    expect(answer.status).toBe(200);
    return (JSON.parse(answer.body.toString()) as { server: Record<string, string> }).server;
  };

  test.skipIf(target.skip !== undefined)("PHP sees the new path's SCRIPT_NAME and PATH_INFO, the client's REQUEST_URI, both queries", async () => {
    expect(await server("/app/x/y?q=1")).toMatchObject({
      REQUEST_URI: "/app/x/y?q=1",
      SCRIPT_NAME: "/php/env.php",
      PATH_INFO: "/x/y",
      QUERY_STRING: "rewritten=1&q=1",
      SITE: "default",
    });
  });

  test.skipIf(target.skip !== undefined)("a route for other hosts hands the request to the next; its own hosts get it", async () => {
    expect((await server("/php/env.php", "a.example")).SITE).toBe("a");
    expect((await server("/php/env.php", "x.b.example:8080")).SITE).toBe("a");
    expect((await server("/php/env.php", "b.example")).SITE).toBe("default");
  });

  test.skipIf(target.skip !== undefined)("a rewritten request is routed by its host too", async () => {
    expect((await server("/app/z", "a.example")).SITE).toBe("a");
  });

  test.skipIf(target.skip !== undefined)("a redirect answers before any rewrite", async () => {
    const answer = await get("/old/p?x=1");
    expect(answer.status).toBe(307);
    expect(answer.headers).toContainEqual(["location", "/app/p?x=1"]);
  });

  test.skipIf(target.skip !== undefined)("a rewrite cycle: 500", async () => {
    expect((await get("/loop/x")).status).toBe(500);
  });
});
