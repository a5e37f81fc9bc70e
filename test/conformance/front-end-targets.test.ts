// What each runtime's front end hands the gateways, for requests whose
// answer depends on it: a request-target with a backslash (`GET
// /cgi-bin\env.pl`) or with dot segments, and a HEAD request to a script
// that declares no length.
//
// RFC 3986 has no backslash in a path; WHATWG URL parsing turns it into "/"
// for http(s) URLs, so a server that hands the app a parsed URL lets `\..\`
// climb directories the raw bytes never named, and on Windows `%5c` and `\`
// are path separators. lighttpd and @hono/node-server answer 400; postern
// must refuse it too, on every runtime, rather than run the script the
// normalised path names. A target with dot segments runs its script, with
// REQUEST_URI as the client sent it (nginx's $request_uri). A HEAD answer
// carries a Content-Length only when it equals the GET answer's length (RFC
// 9110 §8.6, §9.3.2): a script that declares none gets none.
//
// Where a runtime still does otherwise, the case is marked `fails` (vitest
// passes it while it fails), so it turns red, and must be unmarked, the day
// that runtime does it right. Node is each release postern supports.

import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { makeCgiTree, type CgiTree } from "../helpers/cgi-fixtures.ts";
import type { CliRuntime } from "../helpers/postern-cli.ts";
import { rawRequest } from "../helpers/raw-http.ts";
import { posternClis, serveRoutes } from "./process-target.ts";
import type { RunningTarget } from "./suite.ts";

/** Whether the runtime's front end refuses the target today: Bun's URL has already turned `\` into `/`. */
const REFUSED: Record<CliRuntime, boolean> = { node: true, deno: true, bun: false };
/** Whether the app sees the target as sent today: Bun's URL has already removed its dot segments. */
const RAW_TARGET: Record<CliRuntime, boolean> = { node: true, deno: true, bun: false };
/** Whether a HEAD answer without a length goes out without one today: Deno's and Bun's servers add `content-length: 0` to a null body. */
const HEAD_LENGTH: Record<CliRuntime, boolean> = { node: true, deno: false, bun: false };

describe.each(posternClis())("on $name", (cli) => {
  const { runtime } = cli;
  let tree: CgiTree;
  let server: RunningTarget | undefined;
  let port: number;

  beforeAll(async () => {
    tree = makeCgiTree([{ path: "www/cgi-bin/env.sh", fixture: "env.sh", mode: 0o755 }]);
    server = await serveRoutes(cli, `[[routes]]\npath = "/cgi-bin/*"\ngateway = "cgi"\nroot = "${tree.root}"\n`, tmpdir());
    port = Number(new URL(server.url).port);
  }, 40_000);

  afterAll(async () => {
    await server?.stop();
    tree?.remove();
  });

  (REFUSED[runtime] ? test : test.fails)("GET /x\\..\\cgi-bin/env.sh is refused, not run as /cgi-bin/env.sh", async () => {
    const answer = await rawRequest(port, "GET /x\\..\\cgi-bin/env.sh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    expect(answer.body.toString("latin1")).not.toContain("GATEWAY_INTERFACE");
    expect(answer.status).toBeGreaterThanOrEqual(400);
  });

  (RAW_TARGET[runtime] ? test : test.fails)("GET /cgi-bin/x/../env.sh runs the script with REQUEST_URI as sent", async () => {
    const answer = await rawRequest(port, "GET /cgi-bin/x/../env.sh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    expect(answer.status).toBe(200);
    expect(answer.body.toString("latin1")).toContain("REQUEST_URI=/cgi-bin/x/../env.sh\n");
  });

  (HEAD_LENGTH[runtime] ? test : test.fails)("HEAD of a script that declares no length has no Content-Length", async () => {
    const answer = await rawRequest(port, "HEAD /cgi-bin/env.sh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    expect(answer.status).toBe(200);
    expect(answer.headers.filter(([name]) => name === "content-length")).toEqual([]);
  });
});
