// Rewrites and route hosts inside the app (Node, in process): what only the
// app shows — the error log line of a rewrite cycle, the access log's
// request line, HEAD — a route host list given to a gateway written in
// code (`staticFiles({ host })`) in an app of one's own, and a proxy route
// sending its backend the new path, as nginx's proxy_pass after a rewrite.

import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createApp, gatewaySchemas } from "../gateways/index.ts";
import { parseConfig } from "../src/config.ts";
import type { Runtime } from "../src/runtime.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { serve } from "../runtimes/node/serve.ts";
import { staticFiles } from "../runtimes/node/index.ts";
import { makeCgiTree, parseShellReport, type CgiTree } from "./helpers/cgi-fixtures.ts";
import { startPostern } from "./helpers/postern.ts";

describe("in the app", () => {
  let tree: CgiTree;
  let url: string;
  const errors: string[] = [];
  const access: string[] = [];
  let stop: () => Promise<void>;

  beforeAll(async () => {
    tree = makeCgiTree([
      { path: "www/cgi-bin/env.sh", fixture: "env.sh", mode: 0o755 },
      { path: "www/cgi-bin/local.sh", text: "#!/bin/sh\nprintf 'Location: /pretty/from-local\\r\\n\\r\\n'\n", mode: 0o755 },
    ]);
    const runtime: Runtime = { ...nodeRuntime, logError: (line) => errors.push(line), logAccess: (line) => access.push(line) };
    const toml = `listen = ["127.0.0.1:0"]

[metrics]

[[rewrites]]
match = "^/m$"
to = "/metrics"

[[rewrites]]
match = "^/pretty/(.*)$"
to = "/cgi-bin/env.sh/$1"

[[rewrites]]
match = "^/a(.*)$"
to = "/b$1"

[[rewrites]]
match = "^/b(.*)$"
to = "/a$1"

[[routes]]
path = "/cgi-bin/*"
gateway = "cgi"
root = "${tree.root}"
`;
    const config = parseConfig(toml, "postern.toml", gatewaySchemas);
    const app = createApp(config, runtime, tree.dir);
    await app.ready;
    const server = await serve(app.app, { listen: config.listen });
    const address = server.addresses[0]!;
    if (address.kind !== "tcp") throw new Error("expected TCP");
    url = `http://127.0.0.1:${address.port}`;
    stop = async () => {
      await server.close();
      await app.close();
    };
  });

  afterAll(async () => {
    await stop?.();
    tree?.remove();
  });

  test("a rewrite cycle: 500, and the error log names the rule that kept matching", async () => {
    const res = await fetch(`${url}/a/x`);
    expect(res.status).toBe(500);
    expect(errors.filter((line) => line.startsWith("rewrites: /a/x still rewritten after 10 rewrites"))).toHaveLength(1);
    expect(errors.some((line) => line.includes("matching rewrites[1]") || line.includes("matching rewrites[2]"))).toBe(true);
  });

  test("the access log writes the client's request line, once", async () => {
    const res = await fetch(`${url}/pretty/logged?x=1`);
    expect(parseShellReport(await res.text()).values.PATH_INFO).toBe("/logged");
    for (let i = 0; i < 100 && !access.some((line) => line.includes("/pretty/logged")); i++) await new Promise((r) => setTimeout(r, 20));
    expect(access.filter((line) => line.includes('"GET /pretty/logged?x=1 HTTP/1.1"'))).toHaveLength(1);
    expect(access.some((line) => line.includes("/cgi-bin/env.sh/logged"))).toBe(false);
  });

  test("a rewrite never leads to the [metrics] endpoint, which answers the client's own path only", async () => {
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/m`)).status).toBe(404);
  });

  test("a CGI local redirect's path goes through the rewrites again", async () => {
    const res = await fetch(`${url}/cgi-bin/local.sh`);
    const { values } = parseShellReport(await res.text());
    expect(values).toMatchObject({ SCRIPT_NAME: "/cgi-bin/env.sh", PATH_INFO: "/from-local", REQUEST_URI: "/pretty/from-local" });
  });

  test("HEAD of a rewritten path: the GET's status and fields, no body", async () => {
    const res = await fetch(`${url}/pretty/head`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain");
    expect(await res.text()).toBe("");
  });
});

describe("a route host list written in code", () => {
  let dir: CgiTree;
  const app = new Hono();

  beforeAll(() => {
    dir = makeCgiTree([]);
    for (const site of ["a", "other"]) {
      mkdirSync(join(dir.dir, site));
      writeFileSync(join(dir.dir, site, "who.txt"), site);
    }
    app.get("*", staticFiles({ root: join(dir.dir, "a"), host: ["a.example"] }));
    app.get("*", staticFiles({ root: join(dir.dir, "other") }));
  });

  afterAll(() => dir?.remove());

  test("its hosts get it; others go on to the next handler", async () => {
    expect(await (await app.request("http://a.example/who.txt")).text()).toBe("a");
    expect(await (await app.request("http://A.EXAMPLE:8080/who.txt")).text()).toBe("a");
    expect(await (await app.request("http://b.example/who.txt")).text()).toBe("other");
  });

  test("a host pattern that is none is refused, naming the key", () => {
    expect(() => staticFiles({ root: dir.dir, host: ["*.*.example"] })).toThrow(/host\[0\].*a wildcard stands only as the first label/);
  });
});

test("a proxy route sends the rewritten path and query to its backend", async () => {
  const backend = createServer((req, res) => res.end(req.url));
  await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
  const { port } = backend.address() as { port: number };
  const postern = await startPostern(`[[rewrites]]\nmatch = "^/p/(.*)$"\nto = "/api/$1"\n\n[[routes]]\npath = "/api/*"\ngateway = "proxy"\nbackend = "http://127.0.0.1:${port}"\n`);
  try {
    const res = await fetch(`${postern.url}/p/x?y=1`);
    expect(await res.text()).toBe("/api/x?y=1");
  } finally {
    await postern.stop();
    await new Promise((resolve) => backend.close(resolve));
  }
});
