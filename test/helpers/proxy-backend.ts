// A real HTTP backend for the proxy tests: Node's own http server on a
// loopback port, answering what it was asked (method, path, headers, body's
// length and digest) and a few routes that stream, echo or wait.

import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Backend {
  server: Server;
  port: number;
  /** Connections the server accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}

export interface Seen {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  length: number;
  md5: string;
}

/** Starts the backend; `name` is in every answer, to tell balanced backends apart. */
export async function startBackend(name: string, extra?: (req: IncomingMessage, res: ServerResponse) => boolean): Promise<Backend> {
  let connections = 0;
  const server = createServer((req, res) => {
    if (extra?.(req, res)) return;
    const url = new URL(req.url!, "http://x");
    if (url.pathname.endsWith("/stream")) {
      // n MiB, written with backpressure, chunked (no Content-Length).
      const total = Number(url.searchParams.get("mb")) * 1024 * 1024;
      const piece = Buffer.alloc(64 * 1024, 120);
      let sent = 0;
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const pump = () => {
        while (sent < total) {
          sent += piece.byteLength;
          if (!res.write(piece)) return void res.once("drain", pump);
        }
        res.end();
      };
      return pump();
    }
    if (url.pathname.endsWith("/echo")) {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      return void req.pipe(res);
    }
    const hash = createHash("md5");
    let length = 0;
    req.on("data", (chunk: Buffer) => {
      length += chunk.byteLength;
      hash.update(chunk);
    });
    req.on("end", () => {
      const seen: Seen = { name, method: req.method!, url: req.url!, headers: req.headers, length, md5: hash.digest("hex") };
      const status = Number(url.searchParams.get("status") ?? 200);
      res.writeHead(status, { "content-type": "application/json", "set-cookie": ["a=1", "b=2"], "x-backend": name, "keep-alive": "timeout=7, max=99", connection: "keep-alive, x-hop", "x-hop": "secret" });
      res.end(JSON.stringify(seen));
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
