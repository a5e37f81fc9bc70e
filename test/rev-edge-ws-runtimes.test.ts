// WebSocket upgrades through proxy routes on each runtime (postern's CLI on
// Node, Deno and Bun): a route with `auth` refuses an upgrade without
// credentials before the backend sees it, and lets one with them through;
// and where messages are relayed one by one (Deno, Bun) a backend's message
// larger than the relay holds closes the client with 1009 (RFC 6455 §7.4.1)
// instead of being gathered whole in memory, and a client that does not read
// holds the backend back instead of filling postern's memory, and a backend
// that does not read gets the client closed (1013) past 16 MiB held for it.

import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { requireBinary } from "./helpers/binaries.ts";
import { closedWs, openWs, refusedUpgrade } from "./helpers/proxy-ws.ts";
import { spawnPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const HTPASSWD = requireBinary(["htpasswd"], "apache2-utils");
const MiB = 1024 * 1024;

/** A `ws` server that answers "big" with a binary message of 20 MiB, "flood" with 48 messages of 1 MiB, stops reading on "stop reading", answers anything else with "ok"; counts the upgrades it took, and tells what it has not yet written. */
async function startBigBackend(): Promise<{ port: number; upgrades: () => number; unsent: () => number; stop(): Promise<void> }> {
  let upgrades = 0;
  let flooding: WebSocket | undefined;
  const server = createServer((_req, res) => res.end("plain"));
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws) => {
    upgrades++;
    ws.on("error", () => undefined);
    ws.on("message", (data: Buffer) => {
      const text = data.toString();
      if (text === "stop reading") {
        (ws as unknown as { _socket: { pause(): void } })._socket.pause();
        return;
      }
      if (text === "flood") {
        flooding = ws;
        for (let i = 0; i < 48; i++) ws.send(Buffer.alloc(MiB, i));
        return;
      }
      ws.send(text === "big" ? Buffer.alloc(20 * MiB, 7) : "ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    upgrades: () => upgrades,
    unsent: () => flooding?.bufferedAmount ?? -1,
    stop: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.skipIf(HTPASSWD === undefined)("WebSocket upgrades through proxy routes on each runtime", () => {
  let backend: Awaited<ReturnType<typeof startBigBackend>>;
  let dir = "";

  beforeAll(async () => {
    backend = await startBigBackend();
    dir = mkdtempSync(join(tmpdir(), "rev-edge-ws-"));
    execFileSync(HTPASSWD!, ["-b", "-B", "-c", join(dir, "users"), "alice", "secret"], { stdio: "ignore" });
  });

  afterAll(async () => {
    await backend?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const runtime of ["node", "deno", "bun"] as const satisfies CliRuntime[]) {
    describe(`on ${runtime}`, () => {
      let base = "";
      let stop: () => Promise<void> = async () => undefined;

      beforeAll(async () => {
        const port = await freePort();
        const config = join(dir, `${runtime}.toml`);
        const route = (path: string, extra = "") => `[[routes]]\npath = "${path}"\ngateway = "proxy"\nbackend = "http://127.0.0.1:${backend.port}"\n${extra}`;
        writeFileSync(
          config,
          `listen = "127.0.0.1:${port}"\naccess_log = false\n${route("/private/*", `auth = { htpasswd = "${join(dir, "users")}" }\n`)}${route("/*")}`,
        );
        const { proc, log } = spawnPostern(runtime, ["serve", "--config", config]);
        stop = () => stopProcessGroup(proc, "SIGTERM");
        await waitForPort(proc, port, `postern on ${runtime}`, log, 30_000);
        base = `127.0.0.1:${port}`;
      }, 60_000);

      afterAll(async () => {
        await stop();
      });

      test("a route with auth: no credentials, 401 and the backend never asked; with them, the upgrade goes through", async () => {
        const before = backend.upgrades();
        expect((await refusedUpgrade(`ws://${base}/private/x`)).status).toBe(401);
        expect((await refusedUpgrade(`ws://alice:wrong@${base}/private/x`)).status).toBe(401);
        expect(backend.upgrades()).toBe(before);
        const ws = await openWs(`ws://alice:secret@${base}/private/x`);
        const done = closedWs(ws);
        ws.close(1000);
        await done;
        expect(backend.upgrades()).toBe(before + 1);
      });

      test.skipIf(runtime === "node")("a backend message over the relay's bound closes the client with 1009", async () => {
        const ws = await openWs(`ws://${base}/big`);
        const first = new Promise<string>((resolve) => {
          ws.once("message", (data: Buffer) => resolve(`a message of ${data.byteLength} bytes`));
          ws.once("close", (code: number) => resolve(`closed with ${code}`));
        });
        ws.send("big");
        expect(await first).toBe("closed with 1009");
      });

      test("a client that does not read: the relay stops reading the backend", async () => {
        const ws = await openWs(`ws://${base}/flood`);
        // The client's socket is not read: what postern sends piles up in postern, or postern stops taking the backend's.
        (ws as unknown as { _socket: { pause(): void } })._socket.pause();
        ws.send("flood");
        // 48 MiB sent; with the relay waiting on the client, most of it stays in the backend's own buffer.
        await expect.poll(() => backend.unsent(), { timeout: 10_000, interval: 200 }).toBeGreaterThan(16 * MiB);
        ws.terminate();
      });

      test.skipIf(runtime === "node")("a backend that does not read: the client is closed (1013) once 16 MiB wait for it", async () => {
        const ws = await openWs(`ws://${base}/slow`);
        const closed = new Promise<number>((resolve) => ws.once("close", (code: number) => resolve(code)));
        ws.send("stop reading");
        await new Promise((resolve) => setTimeout(resolve, 200));
        const chunk = Buffer.alloc(MiB, 1);
        for (let i = 0; i < 64; i++) ws.send(chunk);
        const code = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve("still open"), 10_000))]);
        ws.terminate();
        // Deno may end the TCP connection while the client is still writing, before it reads the close frame (1006).
        expect([1013, 1006]).toContain(code);
      });
    });
  }
});
