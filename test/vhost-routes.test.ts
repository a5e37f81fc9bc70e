// A route's `host` list (gateways/route/host.ts, docs/vhosts.md), on postern's
// CLI on each runtime: a route for other hosts hands the request on, routes
// without `host` serve every other host; the host is the URL's authority
// (Host, or an absolute-form target's, RFC 9112 §3.2.2), compared without
// case, port or trailing dot; HTTP/1.0 without Host gets the default host;
// X-Forwarded-Host from a trusted proxy is not believed.

import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { makeCgiTree, type CgiTree } from "./helpers/cgi-fixtures.ts";
import { rawRequest } from "./helpers/raw-http.ts";
import { posternClis, serveRoutes } from "./conformance/process-target.ts";
import type { RunningTarget } from "./conformance/suite.ts";

const SITES = ["com", "org", "default"] as const;

const routes = (dir: string) => `trusted_proxies = ["127.0.0.1"]

[[routes]]
host = ["example.com"]
gateway = "static"
root = "${dir}/com"

[[routes]]
host = ["*.example.org", "example.net"]
gateway = "static"
root = "${dir}/org"

[[routes]]
gateway = "static"
root = "${dir}/default"
`;

describe.each(posternClis())("on $name", (cli) => {
  let tree: CgiTree;
  let server: RunningTarget | undefined;
  let port: number;

  beforeAll(async () => {
    tree = makeCgiTree([]);
    for (const site of SITES) {
      mkdirSync(join(tree.dir, site));
      writeFileSync(join(tree.dir, site, "who.txt"), site);
    }
    server = await serveRoutes(cli, routes(tree.dir), tmpdir());
    port = Number(new URL(server.url).port);
  }, 40_000);

  afterAll(async () => {
    await server?.stop();
    tree?.remove();
  });

  /** Which site answered a request with these head lines. */
  async function site(requestLine: string, fields: string[]): Promise<string> {
    const answer = await rawRequest(port, `${requestLine}\r\n${[...fields, "Connection: close"].join("\r\n")}\r\n\r\n`);
    expect(answer.status).toBe(200);
    return answer.body.toString();
  }
  const forHost = (host: string) => site("GET /who.txt HTTP/1.1", [`Host: ${host}`]);

  test("each host its route, another host the default", async () => {
    expect(await forHost("example.com")).toBe("com");
    expect(await forHost("example.net")).toBe("org");
    expect(await forHost("other.example")).toBe("default");
  });

  test("without letter case, port or trailing dot", async () => {
    expect(await forHost("EXAMPLE.com:8080")).toBe("com");
    expect(await forHost("example.com.")).toBe("com");
    expect(await forHost("example.com.:80")).toBe("com");
  });

  test("a wildcard: every name under it, not the domain itself", async () => {
    expect(await forHost("www.example.org")).toBe("org");
    expect(await forHost("a.b.example.org")).toBe("org");
    expect(await forHost("example.org")).toBe("default");
    expect(await forHost("badexample.org")).toBe("default");
  });

  // Bun builds the request's URL from Host whatever the target says, and hands the app no raw target to read it from.
  (cli.runtime === "bun" ? test.fails : test)("an absolute-form target's authority, not Host (RFC 9112 §3.2.2)", async () => {
    expect(await site("GET http://example.com/who.txt HTTP/1.1", ["Host: example.com"])).toBe("com");
    expect(await site("GET http://example.com/who.txt HTTP/1.1", ["Host: other.example"])).toBe("com");
  });

  test("HTTP/1.0 without Host: the default host", async () => {
    expect(await site("GET /who.txt HTTP/1.0", [])).toBe("default");
  });

  test("X-Forwarded-Host from a trusted proxy is not believed", async () => {
    expect(await site("GET /who.txt HTTP/1.1", ["Host: other.example", "X-Forwarded-Host: example.com", "X-Forwarded-For: 192.0.2.1"])).toBe("default");
  });
});
