// WebSocket through a proxy route on Node, with `ws` as the real server and
// client: text and binary both ways, the close handshake relayed in each
// direction with its code and reason, and a backend that refuses the
// upgrade, whose answer reaches the client.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

/** Opens a client through postern and waits for the open. */
function open(url: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) => ws.once("message", (data: Buffer, binary: boolean) => resolve({ data, binary })));
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}

describe("WebSocket through a proxy route (Node)", () => {
  let server: Server;
  let wss: WebSocketServer;
  let postern: RunningPostern;
  const serverClosed: { code: number; reason: string }[] = [];
  let base = "";

  beforeAll(async () => {
    server = createServer((_req, res) => res.end("plain"));
    wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has("chat") ? "chat" : false) });
    server.on("upgrade", (req, socket, head) => {
      if (req.url?.startsWith("/ws/refused")) {
        socket.end("HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 7\r\n\r\nno, sir");
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on("message", (data: Buffer, binary: boolean) => {
          const text = data.toString();
          if (!binary && text === "close me") return ws.close(4001, "as asked");
          ws.send(binary ? Buffer.concat([Buffer.from([0]), data]) : `echo ${text} ${req.headers["x-forwarded-for"]}`, { binary });
        });
        ws.on("close", (code: number, reason: Buffer) => serverClosed.push({ code, reason: reason.toString() }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    postern = await startPostern(`[[routes]]\npath = "/ws/*"\ngateway = "proxy"\nbackend = "http://127.0.0.1:${port}"\n`);
    base = postern.url.replace("http:", "ws:");
  });

  afterAll(async () => {
    await postern?.stop();
    wss?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  test("text and binary messages both ways, the subprotocol chosen by the backend", async () => {
    const ws = await open(`${base}/ws/chat`, ["chat"]);
    expect(ws.protocol).toBe("chat");
    ws.send("hello");
    expect(await nextMessage(ws)).toEqual({ data: Buffer.from("echo hello 127.0.0.1"), binary: false });
    const bytes = Buffer.from([1, 2, 255, 0, 7]);
    ws.send(bytes);
    expect(await nextMessage(ws)).toEqual({ data: Buffer.concat([Buffer.from([0]), bytes]), binary: true });
    // A large message crosses many reads and writes.
    const big = Buffer.alloc(8 * 1024 * 1024, 9);
    ws.send(big);
    const back = await nextMessage(ws);
    expect(back.data.byteLength).toBe(big.byteLength + 1);
    const done = closed(ws);
    ws.close(1000, "bye");
    expect(await done).toEqual({ code: 1000, reason: "bye" });
    await expect.poll(() => serverClosed.at(-1)).toEqual({ code: 1000, reason: "bye" });
  });

  test("the backend's close reaches the client with its code and reason", async () => {
    const ws = await open(`${base}/ws/x`);
    const done = closed(ws);
    ws.send("close me");
    expect(await done).toEqual({ code: 4001, reason: "as asked" });
  });

  test("a refused upgrade: the backend's answer reaches the client", async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(`${base}/ws/refused`);
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      });
      ws.once("open", () => reject(new Error("opened")));
    });
    expect(answer).toEqual({ status: 403, body: "no, sir" });
  });

  test("an upgrade to a path no route serves gets the app's 404", async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${postern.url.replace("http:", "ws:")}/elsewhere`);
      ws.once("unexpected-response", (_req, res) => resolve(res.statusCode!));
      ws.once("error", () => undefined);
    });
    expect(status).toBe(404);
  });
});
