// WebSocket through a proxy route on Node (in-process), with `ws` as the
// real server and client: text and binary both ways, the close handshake
// relayed in each direction with its code and reason, a backend that
// refuses the upgrade (its answer reaches the client), and an upgrade no
// route serves; and through an https:// listener. Deno and Bun:
// proxy-runtimes.test.ts.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { closedWs, nextMessage, openWs, refusedUpgrade, startWsBackend, type WsBackend } from "./helpers/proxy-ws.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { spawnPostern } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";
import { makeCertificates, type TestCertificates } from "./helpers/tls-certs.ts";

describe("WebSocket through a proxy route (Node)", () => {
  let backend: WsBackend;
  let postern: RunningPostern;
  let base = "";

  beforeAll(async () => {
    backend = await startWsBackend();
    postern = await startPostern(`[[routes]]\npath = "/ws/*"\ngateway = "proxy"\nbackend = "http://127.0.0.1:${backend.port}"\n`);
    base = postern.url.replace("http:", "ws:");
  });

  afterAll(async () => {
    await postern?.stop();
    await backend?.stop();
  });

  test("text and binary messages both ways, the subprotocol chosen by the backend", async () => {
    const ws = await openWs(`${base}/ws/chat`, ["chat"]);
    expect(ws.protocol).toBe("chat");
    ws.send("hello");
    expect(await nextMessage(ws)).toEqual({ data: Buffer.from("echo hello 127.0.0.1"), binary: false });
    const bytes = Buffer.from([1, 2, 255, 0, 7]);
    ws.send(bytes);
    expect(await nextMessage(ws)).toEqual({ data: Buffer.concat([Buffer.from([0]), bytes]), binary: true });
    // A large message crosses many reads and writes.
    const big = Buffer.alloc(8 * 1024 * 1024, 9);
    ws.send(big);
    expect((await nextMessage(ws)).data.byteLength).toBe(big.byteLength + 1);
    const done = closedWs(ws);
    ws.close(1000, "bye");
    expect(await done).toEqual({ code: 1000, reason: "bye" });
    await expect.poll(() => backend.closes.at(-1)).toEqual({ code: 1000, reason: "bye" });
  });

  test("the backend's close reaches the client with its code and reason", async () => {
    const ws = await openWs(`${base}/ws/x`);
    const done = closedWs(ws);
    ws.send("close me");
    expect(await done).toEqual({ code: 4001, reason: "as asked" });
  });

  test("a refused upgrade: the backend's answer reaches the client", async () => {
    expect(await refusedUpgrade(`${base}/ws/refused`)).toEqual({ status: 403, body: "no, sir" });
  });

  test("an upgrade to a path no route serves gets the app's 404", async () => {
    expect((await refusedUpgrade(`${base}/elsewhere`)).status).toBe(404);
  });
});

describe("WebSocket through a proxy route on an https:// listener (Node's secure server)", () => {
  let backend: WsBackend;
  let certs: TestCertificates;
  let stop: () => Promise<void> = async () => undefined;
  let port = 0;

  beforeAll(async () => {
    backend = await startWsBackend();
    certs = makeCertificates();
    port = await freePort();
    const config = join(certs.dir, "postern.toml");
    writeFileSync(
      config,
      [
        `listen = "https://127.0.0.1:${port}"`,
        'access_log = "off"',
        "[tls]",
        `cert = "${certs.path("server.pem")}"`,
        `key = "${certs.path("server.key")}"`,
        "[[routes]]",
        'path = "/ws/*"',
        'gateway = "proxy"',
        `backend = "http://127.0.0.1:${backend.port}"`,
        "",
      ].join("\n"),
    );
    const { proc, log } = spawnPostern("node", ["serve", "--config", config]);
    stop = () => stopProcessGroup(proc, "SIGTERM");
    await waitForPort(proc, port, "postern", log, 30_000);
  }, 60_000);

  afterAll(async () => {
    await stop();
    await backend?.stop();
    certs?.remove();
  });

  test("wss: messages both ways and the close handshake", async () => {
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const client = new WebSocket(`wss://127.0.0.1:${port}/ws/x`, { ca: readFileSync(certs.path("ca.pem")) });
      client.once("open", () => resolve(client));
      client.once("error", reject);
    });
    ws.send("secure");
    expect((await nextMessage(ws)).data.toString()).toBe("echo secure 127.0.0.1");
    const done = closedWs(ws);
    ws.close(1000, "bye");
    expect(await done).toEqual({ code: 1000, reason: "bye" });
  });
});
