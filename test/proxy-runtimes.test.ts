// Proxy routes served by the postern CLI on Node, Deno and Bun, to real
// backends (Node's http server, `ws`): each runtime's backend connections
// carry a body and a chunked answer on kept connections, and its WebSocket
// upgrade path relays text, binary and the close handshake both ways (bytes
// passed through on Node, messages relayed on Deno and Bun).

import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startBackend, type Backend, type Seen } from "./helpers/proxy-backend.ts";
import { closedWs, nextMessage, openWs, refusedUpgrade, startWsBackend, type WsBackend } from "./helpers/proxy-ws.ts";
import { spawnPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const MiB = 1024 * 1024;
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

describe("proxy routes on each runtime", () => {
  let http: Backend;
  let ws: WsBackend;

  beforeAll(async () => {
    [http, ws] = await Promise.all([startBackend("a"), startWsBackend()]);
  });

  afterAll(async () => {
    await Promise.all([http?.stop(), ws?.stop()]);
  });

  for (const runtime of ["node", "deno", "bun"] as const satisfies CliRuntime[]) {
    describe(`on ${runtime}`, () => {
      let base = "";
      let dir = "";
      let stop: () => Promise<void> = async () => undefined;

      beforeAll(async () => {
        dir = mkdtempSync(join(tmpdir(), `postern-proxy-${runtime}-`));
        const port = await freePort();
        const config = join(dir, "postern.toml");
        const route = (path: string, backend: number) => `[[routes]]\npath = "${path}"\ngateway = "proxy"\nbackend = "http://127.0.0.1:${backend}"\n`;
        writeFileSync(config, `listen = "127.0.0.1:${port}"\naccess_log = false\n${route("/ws/*", ws.port)}${route("/*", http.port)}`);
        const { proc, log } = spawnPostern(runtime, ["serve", "--config", config]);
        stop = () => stopProcessGroup(proc, "SIGTERM");
        await waitForPort(proc, port, `postern on ${runtime}`, log, 30_000);
        base = `127.0.0.1:${port}`;
      }, 60_000);

      afterAll(async () => {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      });

      test("a 2 MiB body, a 16 MiB chunked answer, kept connections", async () => {
        const body = randomBytes(2 * MiB);
        const before = http.connections();
        for (let i = 0; i < 3; i++) {
          const seen = (await (await fetch(`http://${base}/up`, { method: "PUT", body })).json()) as Seen;
          expect(seen).toMatchObject({ method: "PUT", length: body.byteLength, md5: md5(body) });
        }
        expect(http.connections() - before).toBe(1);
        const res = await fetch(`http://${base}/stream?mb=16`);
        expect((await res.arrayBuffer()).byteLength).toBe(16 * MiB);
      });

      test("WebSocket: text and binary both ways, closes relayed with code and reason, a refusal passed on", async () => {
        const client = await openWs(`ws://${base}/ws/chat`, ["chat"]);
        expect(client.protocol).toBe("chat");
        client.send("hi");
        expect(await nextMessage(client)).toEqual({ data: Buffer.from("echo hi 127.0.0.1"), binary: false });
        const bytes = randomBytes(300_000);
        client.send(bytes);
        expect(await nextMessage(client)).toEqual({ data: Buffer.concat([Buffer.from([0]), bytes]), binary: true });
        const done = closedWs(client);
        client.close(4002, "bye");
        expect(await done).toMatchObject({ code: 4002 });
        await expect.poll(() => ws.closes.at(-1)).toEqual({ code: 4002, reason: "bye" });

        const other = await openWs(`ws://${base}/ws/x`);
        const closed = closedWs(other);
        other.send("close me");
        expect(await closed).toEqual({ code: 4001, reason: "as asked" });

        expect(await refusedUpgrade(`ws://${base}/ws/refused`)).toEqual({ status: 403, body: "no, sir" });
      });
    });
  }
});
