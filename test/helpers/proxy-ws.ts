// A real WebSocket backend (`ws` on Node's http server) for the proxy tests,
// and the client steps they take with `ws`: it echoes text (with the
// X-Forwarded-For it saw) and binary (prefixed by a 0 byte), closes with 4001
// when asked, refuses upgrades to /ws/refused with a 403, and records the
// close codes it receives.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";

export interface WsBackend {
  port: number;
  /** The close code and reason of each connection the backend saw closed. */
  closes: { code: number; reason: string }[];
  stop(): Promise<void>;
}

export async function startWsBackend(): Promise<WsBackend> {
  const closes: { code: number; reason: string }[] = [];
  const server = createServer((_req, res) => res.end("plain"));
  // Compression on, as many servers have it: a relay of messages must not let it be negotiated through it.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: true, handleProtocols: (protocols) => (protocols.has("chat") ? "chat" : false) });
  server.on("upgrade", (req, socket, head) => {
    // A relay that closes its side at once resets the connection: not the test's failure.
    socket.on("error", () => undefined);
    if (req.url?.startsWith("/ws/refused")) {
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 7\r\n\r\nno, sir");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("error", () => undefined);
      ws.on("message", (data: Buffer, binary: boolean) => {
        const text = data.toString();
        if (!binary && text === "close me") return ws.close(4001, "as asked");
        ws.send(binary ? Buffer.concat([Buffer.from([0]), data]) : `echo ${text} ${req.headers["x-forwarded-for"]}`, { binary });
      });
      ws.on("close", (code: number, reason: Buffer) => closes.push({ code, reason: reason.toString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    closes,
    stop: async () => {
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Opens a client and waits for the open. */
export function openWs(url: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) => ws.once("message", (data: Buffer, binary: boolean) => resolve({ data, binary })));
}

export function closedWs(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}

/** The status and body a refused upgrade got. */
export function refusedUpgrade(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    ws.once("error", () => undefined);
    ws.once("open", () => reject(new Error("opened")));
  });
}
