// uwsgi and SCGI routes in a Worker run by `wrangler dev` (workerd from npm),
// to a real uWSGI through cloudflare:sockets: the conformance suite's Worker
// (conformance/workerd/worker.ts) serving these routes instead. There a
// backend connection belongs to its request, and health checks run within
// requests (lazy).

import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { findUwsgi, startUwsgi } from "./fixtures/uwsgi/server.ts";
import type { ServerProcess } from "./helpers/server-process.ts";
import { devConformanceWorker, WRANGLER_NODE } from "./helpers/wrangler.ts";

const UWSGI = findUwsgi();
const MiB = 1024 * 1024;

describe.skipIf(!UWSGI || !WRANGLER_NODE)("uwsgi and SCGI routes on workerd", () => {
  let servers: ServerProcess[] = [];
  let base = "";
  let stop: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    servers = await Promise.all([startUwsgi(UWSGI!, { protocol: "uwsgi", processes: 2 }), startUwsgi(UWSGI!, { protocol: "scgi", processes: 2 })]);
    const [uwsgi, scgi] = servers;
    const routes = [
      `[[routes]]\npath = "/py/*"\ngateway = "uwsgi"\nbackend = ["127.0.0.1:${uwsgi!.port}", "127.0.0.1:9"]\nmax_conns = 2`,
      'health = { path = "/ping", interval = "1s", timeout = "10s", fails = 1 }',
      `[[routes]]\npath = "/sc/*"\ngateway = "scgi"\nbackend = "127.0.0.1:${scgi!.port}"\nmax_conns = 2`,
    ].join("\n");
    const dev = await devConformanceWorker("postern-uwsgi", routes);
    stop = dev.stop;
    base = dev.url;
  }, 90_000);

  afterAll(async () => {
    await stop();
    await Promise.all(servers.map((s) => s.stop()));
  });

  test.each(["/py", "/sc"])("%s: the environ, a 1 MiB body, cookies and a 4 MiB answer; a dead backend checked out within the requests", async (mount) => {
    const body = randomBytes(MiB);
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${base}${mount}/env/x?q=1`, { method: "POST", body, signal: AbortSignal.timeout(30_000) });
      expect(res.status).toBe(200);
      const seen = (await res.json()) as { environ: Record<string, string>; body_length: number; body_md5: string };
      expect(seen.environ).toMatchObject({ SCRIPT_NAME: mount, PATH_INFO: "/env/x", QUERY_STRING: "q=1" });
      expect(seen.body_md5).toBe(createHash("md5").update(body).digest("hex"));
    }
    const cookies = await fetch(`${base}${mount}/cookies`);
    expect(cookies.headers.getSetCookie()).toEqual(["a=1", "b=2", "c=3; Path=/"]);
    expect((await (await fetch(`${base}${mount}/big?mb=4`)).arrayBuffer()).byteLength).toBe(4 * MiB);
  }, 60_000);
});
