// The request path is normalised once, before routing (src/paths.ts), and
// every gateway refuses a path an app routed without normalising it: a
// double slash or a dot segment cannot take a script past its route to a
// static route on the same root, which would serve its source.

import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindGateways } from "../gateways/index.ts";
import { getPath } from "../gateways/request-path.ts";
import { normalizePath } from "../src/paths.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { serve, type RunningServer } from "../runtimes/node/serve.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { buildRequest, rawRequest } from "./helpers/raw-http.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");
/** What only the script's source holds, never its output. */
const SOURCE = "env-dump CGI script";

describe("normalizePath", () => {
  const table: [string, string][] = [
    ["/", "/"],
    ["/a/b.php", "/a/b.php"],
    ["//cgi-bin/env.pl", "/cgi-bin/env.pl"],
    ["/a//b///c", "/a/b/c"],
    ["/a/./b/", "/a/b/"],
    ["/a/.", "/a/"],
    ["/a/b/..", "/a/"],
    ["/a/../b", "/b"],
    ["/../../etc/passwd", "/etc/passwd"],
    ["/%2e%2E/x", "/x"],
    ["/a/.%2e/b", "/b"],
    ["/cgi%2Dbin/%41.pl", "/cgi-bin/A.pl"],
    ["/a%2Fb", "/a%2Fb"],
    ["/100%25/x%", "/100%25/x%"],
    ["/.htaccess", "/.htaccess"],
    ["/a/..b/c..", "/a/..b/c.."],
    ["/a/b/../../..//c/./d/", "/c/d/"],
  ];
  for (const [path, normal] of table) it(`${path} -> ${normal}`, () => expect(normalizePath(path)).toBe(normal));
});

/** A `/cgi/*` CGI route and a static `*` route on one root: the README's layout. */
const ROUTES = `
[[routes]]
path = "/cgi/*"
gateway = "cgi"
root = ${JSON.stringify(FIXTURES)}
interpreters = { ".sh" = "sh" }

[[routes]]
path = "*"
gateway = "static"
root = ${JSON.stringify(FIXTURES)}
`;

function variables(text: string): Record<string, string> {
  return Object.fromEntries(text.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

const get = (port: number, target: string) => rawRequest(port, buildRequest("GET", target, [["Host", "x"], ["Connection", "close"]]));
const portOf = (url: string) => Number(new URL(url).port);

describe("a config's app: the script runs, its source is never served", () => {
  let postern: RunningPostern;
  beforeAll(async () => {
    postern = await startPostern(ROUTES);
  });
  afterAll(() => postern?.stop());

  for (const target of ["//cgi/env.sh", "/cgi//env.sh", "/x/..//cgi/env.sh", "/cgi/./env.sh", "/%2e/cgi/env.sh", "///cgi/sub/../env.sh?q=1"]) {
    it(`${target} runs the script`, async () => {
      const answer = await get(portOf(postern.url), target);
      const body = answer.body.toString();
      expect(body).not.toContain(SOURCE);
      expect(answer.status).toBe(200);
      // REQUEST_URI keeps the target as sent (nginx's $request_uri); SCRIPT_NAME is the normal path's.
      expect(variables(body)).toMatchObject({ SCRIPT_NAME: "/cgi/env.sh", REQUEST_URI: target });
    });
  }
});

describe("a library app", () => {
  const { cgi, staticFiles } = bindGateways(nodeRuntime);
  const build = (app: Hono) => {
    app.all("/cgi/*", cgi({ root: FIXTURES, interpreters: { ".sh": "sh" } }));
    app.get("*", staticFiles({ root: FIXTURES }));
    return app;
  };

  it("served by serve(): routes see the normal path", async () => {
    const server: RunningServer = await serve(build(new Hono()), { listen: ["127.0.0.1:0"] });
    try {
      const addr = server.addresses[0]!;
      const answer = await get(addr.kind === "tcp" ? addr.port : 0, "//cgi/env.sh");
      expect(answer.body.toString()).not.toContain(SOURCE);
      expect(answer.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("routing with getPath elsewhere (a Worker's fetch): the script runs", async () => {
    const app = build(new Hono({ getPath }));
    const answer = await app.fetch(new Request("http://x//cgi/env.sh"));
    const body = await answer.text();
    expect(body).not.toContain(SOURCE);
    expect(answer.status).toBe(200);
  });

  it("routing on the path as sent: a gateway refuses it (404), it never serves the source", async () => {
    const app = build(new Hono());
    const answer = await app.fetch(new Request("http://x//cgi/env.sh"));
    expect(await answer.text()).not.toContain(SOURCE);
    expect(answer.status).toBe(404);
    // A normal path is served as before.
    expect((await app.fetch(new Request("http://x/cgi/env.sh"))).status).toBe(200);
  });
});
