// A proxy route in a Worker run by `wrangler dev` (workerd from npm), to a
// real HTTP server (Node's) through cloudflare:sockets: the conformance
// suite's Worker serving this route instead. There a backend connection
// belongs to its request (none is kept), and health checks run within
// requests. WebSocket upgrades are not passed there (docs/gateways/proxy.md).

import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startBackend, type Backend, type Seen } from "./helpers/proxy-backend.ts";
import { devConformanceWorker, WRANGLER_NODE } from "./helpers/wrangler.ts";

const MiB = 1024 * 1024;

describe.skipIf(!WRANGLER_NODE)("a proxy route on workerd", () => {
  let backend: Backend;
  let base = "";
  let stop: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    backend = await startBackend("a");
    const routes = [
      `[[routes]]\npath = "/*"\ngateway = "proxy"\nbackend = ["http://127.0.0.1:${backend.port}", "http://127.0.0.1:9"]`,
      'health = { path = "/health", interval = "1s", timeout = "10s", fails = 1 }',
    ].join("\n");
    const dev = await devConformanceWorker("postern-proxy", routes);
    stop = dev.stop;
    base = dev.url;
  }, 90_000);

  afterAll(async () => {
    await stop();
    await backend?.stop();
  });

  test("a 1 MiB body, cookies and a 4 MiB chunked answer; a dead backend checked out within the requests", async () => {
    const body = randomBytes(MiB);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${base}/up?q=1`, { method: "POST", body, signal: AbortSignal.timeout(30_000) });
      expect(res.status).toBe(200);
      const seen = (await res.json()) as Seen;
      expect(seen).toMatchObject({ url: "/up?q=1", length: MiB, md5: createHash("md5").update(body).digest("hex") });
      expect(res.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    }
    expect((await (await fetch(`${base}/stream?mb=4`)).arrayBuffer()).byteLength).toBe(4 * MiB);
  }, 60_000);
});
