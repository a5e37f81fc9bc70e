// uwsgi and SCGI routes served by the postern CLI on Node, Deno and Bun,
// to one real uWSGI each: each runtime's backend connections (its Duplex)
// carry the request head, a body and a streamed answer, and see the backend
// close the connection as the end of the answer. Workerd: uwsgi-workerd.test.ts.

import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { findUwsgi, startUwsgi } from "./fixtures/uwsgi/server.ts";
import { spawnPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { stopProcessGroup, waitForPort, type ServerProcess } from "./helpers/server-process.ts";

const UWSGI = findUwsgi();
const MiB = 1024 * 1024;
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

describe.skipIf(!UWSGI)("uwsgi and SCGI routes on each runtime", () => {
  let uwsgi: ServerProcess | undefined;
  let scgi: ServerProcess | undefined;

  beforeAll(async () => {
    [uwsgi, scgi] = await Promise.all([startUwsgi(UWSGI!, { protocol: "uwsgi", processes: 2 }), startUwsgi(UWSGI!, { protocol: "scgi", processes: 2 })]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([uwsgi?.stop(), scgi?.stop()]);
  });

  for (const runtime of ["node", "deno", "bun"] as const satisfies CliRuntime[]) {
    describe(`on ${runtime}`, () => {
      let base = "";
      let dir = "";
      let stop: () => Promise<void> = async () => undefined;

      beforeAll(async () => {
        dir = mkdtempSync(join(tmpdir(), `postern-uwsgi-${runtime}-`));
        const port = await freePort();
        const config = join(dir, "postern.toml");
        const route = (path: string, gateway: string, server: ServerProcess) =>
          `[[routes]]\npath = "${path}"\ngateway = "${gateway}"\nbackend = "127.0.0.1:${server.port}"\nmax_conns = 2\n`;
        writeFileSync(config, `listen = "127.0.0.1:${port}"\naccess_log = false\n${route("/py/*", "uwsgi", uwsgi!)}${route("/sc/*", "scgi", scgi!)}`);
        const { proc, log } = spawnPostern(runtime, ["serve", "--config", config]);
        stop = () => stopProcessGroup(proc, "SIGTERM");
        await waitForPort(proc, port, `postern on ${runtime}`, log, 30_000);
        base = `http://127.0.0.1:${port}`;
      }, 60_000);

      afterAll(async () => {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      });

      test.each(["/py", "/sc"])("%s: the environ, a 1 MiB body, cookies and a 4 MiB answer", async (mount) => {
        const body = randomBytes(MiB);
        const res = await fetch(`${base}${mount}/env/x?q=1`, { method: "POST", body, signal: AbortSignal.timeout(30_000) });
        const seen = (await res.json()) as { environ: Record<string, string>; body_length: number; body_md5: string };
        expect(seen.environ).toMatchObject({ SCRIPT_NAME: mount, PATH_INFO: "/env/x", QUERY_STRING: "q=1", REQUEST_METHOD: "POST", REMOTE_ADDR: "127.0.0.1" });
        expect({ length: seen.body_length, md5: seen.body_md5 }).toEqual({ length: MiB, md5: md5(body) });
        const cookies = await fetch(`${base}${mount}/cookies`);
        expect(cookies.status).toBe(201);
        expect(cookies.headers.getSetCookie()).toEqual(["a=1", "b=2", "c=3; Path=/"]);
        const big = await fetch(`${base}${mount}/big?mb=4`);
        expect((await big.arrayBuffer()).byteLength).toBe(4 * MiB);
      });
    });
  }
});
