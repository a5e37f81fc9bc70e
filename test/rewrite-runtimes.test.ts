// `[[rewrites]]` and `[[redirects]]` end to end, on postern's CLI on each
// runtime (Node, each release postern supports; Deno; Bun), with a real CGI
// script printing its environment: a rewritten request is routed again on
// its new path, the script sees SCRIPT_NAME and PATH_INFO of that path and
// REQUEST_URI as the client sent it (lighttpd's mod_rewrite does the same),
// the body goes along, a rewrite cycle ends in 500, and no rewrite leads out
// of the tree (`..`, `%2F`).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { makeCgiTree, parseShellReport, type CgiTree } from "./helpers/cgi-fixtures.ts";
import { rawRequest } from "./helpers/raw-http.ts";
import { posternClis, serveRoutes } from "./conformance/process-target.ts";
import type { RunningTarget } from "./conformance/suite.ts";

const rules = (root: string) => `
[[redirects]]
match = "^/old/(.*)$"
to = "/new/$1"
status = 308

[[redirects]]
match = "^/go(/.*)$"
to = "/$1"

[[rewrites]]
match = "^/pretty/(.*)$"
to = "/cgi-bin/env.sh/$1?via=pretty"

[[rewrites]]
match = "^/doc/(.*)$"
to = "/$1.txt"

[[rewrites]]
match = "^/loop(.*)$"
to = "/loop/x$1"

[[rewrites]]
match = "^/up/(.*)$"
to = "/../../$1.txt"

[[rewrites]]
match = "^/enc/(.*)$"
to = "/x/$1"

[[routes]]
path = "/cgi-bin/*"
gateway = "cgi"
root = "${root}"

[[routes]]
gateway = "static"
root = "${root}"
`;

describe.each(posternClis())("on $name", (cli) => {
  let tree: CgiTree;
  let server: RunningTarget | undefined;
  let port: number;

  beforeAll(async () => {
    tree = makeCgiTree([
      { path: "www/cgi-bin/env.sh", fixture: "env.sh", mode: 0o755 },
      { path: "www/page.txt", text: "a page\n", mode: 0o644 },
    ]);
    // Outside the root: what a rewrite must never reach.
    writeFileSync(join(tree.dir, "secret.txt"), "secret\n");
    server = await serveRoutes(cli, rules(tree.root), tmpdir());
    port = Number(new URL(server.url).port);
  }, 40_000);

  afterAll(async () => {
    await server?.stop();
    tree?.remove();
  });

  const get = (target: string, head = "") => rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: t\r\n${head}Connection: close\r\n\r\n`);

  test("a rewritten request runs the script of its new path: SCRIPT_NAME, PATH_INFO new, REQUEST_URI the client's", async () => {
    const answer = await get("/pretty/a/b?q=1");
    expect(answer.status).toBe(200);
    const { values } = parseShellReport(answer.body.toString());
    expect(values).toMatchObject({ REQUEST_URI: "/pretty/a/b?q=1", SCRIPT_NAME: "/cgi-bin/env.sh", PATH_INFO: "/a/b", QUERY_STRING: "via=pretty&q=1" });
  });

  test("its body goes along", async () => {
    const answer = await rawRequest(port, "POST /pretty/x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    expect(parseShellReport(answer.body.toString()).values).toMatchObject({ REQUEST_METHOD: "POST", stdin_length: "5", PATH_INFO: "/x" });
  });

  test("the new path is routed afresh: a rewrite from no route's path reaches the static route", async () => {
    const answer = await get("/doc/page");
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe("a page\n");
  });

  test("a redirect: its status and Location, with $1 and the query", async () => {
    const answer = await get("/old/a?b=1");
    expect(answer.status).toBe(308);
    expect(answer.headers).toContainEqual(["location", "/new/a?b=1"]);
  });

  test('a redirect to "/$1" with a group "/evil.example" stays on this host', async () => {
    const answer = await get("/go/evil.example/x");
    expect(answer.headers).toContainEqual(["location", "/evil.example/x"]);
  });

  test("a rewrite cycle ends in 500", async () => {
    expect((await get("/loop")).status).toBe(500);
  });

  test("a rewrite to /../../ stays under the root", async () => {
    const page = await get("/up/page");
    expect(page.status).toBe(200);
    expect(page.body.toString()).toBe("a page\n");
    const secret = await get("/up/secret");
    expect(secret.status).toBe(404);
    expect(secret.body.toString()).not.toContain("secret");
  });

  test("an encoded slash in a group stays encoded (encoded_slashes refuse): /x/..%2Fcgi-bin%2Fenv.sh is no script", async () => {
    const answer = await get("/enc/..%2Fcgi-bin%2Fenv.sh");
    expect(answer.status).toBe(404);
    expect(answer.body.toString()).not.toContain("GATEWAY_INTERFACE");
  });
});
