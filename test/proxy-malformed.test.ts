// A backend that answers with a malformed head or framing gets the client a
// 502 and its connection is never used again; a backend that splits its
// answer (bytes past its Content-Length or after its last chunk: a second,
// forged answer) never changes what the next request gets. The backend here
// is hand-written: no real server sends these.

import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { Agent, request } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

/** What the fake backend answers, by request path. */
const ANSWERS: Record<string, string> = {
  "/ok": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  "/cl-te": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  "/two-cl": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 4\r\n\r\nhello",
  "/bare-lf": "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
  "/obs-fold": "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 2\r\n\r\nok",
  "/te-gzip": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx",
  "/bad-chunk": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
  "/split-cl": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil",
  "/split-chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil",
  "/interim": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  "/101": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
  "/short": "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf",
  "/huge-head": `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(70_000)}\r\nContent-Length: 2\r\n\r\nok`,
};

describe("a backend's malformed answers", () => {
  let backend: Server;
  let postern: RunningPostern;
  let connections = 0;
  const sockets = new Set<Socket>();
  /** The backend connection (its number) each path was last asked on, and the connections closed. */
  const askedOn = new Map<string, number>();
  const closed = new Set<number>();

  beforeAll(async () => {
    backend = createServer((socket) => {
      const id = ++connections;
      sockets.add(socket);
      socket.on("close", () => {
        sockets.delete(socket);
        closed.add(id);
      });
      socket.on("error", () => undefined);
      let held = "";
      socket.on("data", (chunk) => {
        held += chunk.toString("latin1");
        for (let end = held.indexOf("\r\n\r\n"); end >= 0; end = held.indexOf("\r\n\r\n")) {
          const path = held.slice(0, end).split(" ")[1]!;
          held = held.slice(end + 4);
          askedOn.set(path, id);
          const answer = ANSWERS[path] ?? "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
          socket.write(answer);
          // Cut short: the backend closes having sent part of its declared body.
          if (path === "/short") socket.end();
        }
      });
    });
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
    const port = (backend.address() as AddressInfo).port;
    postern = await startPostern(`[[routes]]\npath = "/*"\ngateway = "proxy"\nbackend = "127.0.0.1:${port}"\n`);
  });

  afterAll(async () => {
    await postern?.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => backend?.close(resolve));
  });

  test.each(["/cl-te", "/two-cl", "/bare-lf", "/obs-fold", "/te-gzip", "/bad-chunk", "/101", "/huge-head"])("%s: 502, and the connection is not used again", async (path) => {
    const res = await fetch(`${postern.url}${path}`);
    expect(res.status).toBe(502);
    await res.arrayBuffer();
    expect(await (await fetch(`${postern.url}/ok`)).text()).toBe("ok");
    expect(askedOn.get("/ok")).not.toBe(askedOn.get(path));
    await expect.poll(() => closed.has(askedOn.get(path)!)).toBe(true);
  });

  test("a body cut short by the backend's close is cut for the client too", async () => {
    await expect(fetch(`${postern.url}/short`).then((res) => res.text())).rejects.toThrow();
  });

  test.each(["/split-cl", "/split-chunked"])("%s: the forged second answer never reaches the next request", async (path) => {
    // One client connection for both requests: what the second one reads must be its own answer.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (p: string) =>
      new Promise<string>((resolve, reject) => {
        request(`${postern.url}${p}`, { agent }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve(body));
        })
          .on("error", reject)
          .end();
      });
    expect(await get(path)).toBe("hello");
    expect(await get("/ok")).toBe("ok");
    expect(askedOn.get("/ok")).not.toBe(askedOn.get(path));
    await expect.poll(() => closed.has(askedOn.get(path)!)).toBe(true);
    agent.destroy();
  });

  test("interim 1xx answers are skipped, the final one passed on, the connection kept", async () => {
    const res = await fetch(`${postern.url}/interim`);
    expect(res.status).toBe(200);
    expect(res.headers.get("link")).toBeNull();
    expect(await res.text()).toBe("ok");
    expect(await (await fetch(`${postern.url}/ok`)).text()).toBe("ok");
    expect(askedOn.get("/ok")).toBe(askedOn.get("/interim"));
  });
});
