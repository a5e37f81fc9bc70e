// Faults of a uwsgi backend that a real uWSGI does not produce on demand,
// from a hand-written one on loopback: a connection dropped before any
// answer (an idempotent request goes to the other backend, a POST is never
// sent twice), an answer cut short of its Content-Length, reset mid-way or
// longer than declared, forged responses after an answer's end on a kept
// client connection, a connect that hangs, a malformed or oversized head,
// an answer sent before the body was read, a backend that answers late
// after reading a large body, one that stalls mid-answer, one whose answer
// to a HEAD never ends, a client that stops reading (backpressure reaches
// the backend) and one that leaves while the backend works.

import { get as httpGet } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { findUwsgi, startUwsgi } from "./fixtures/uwsgi/server.ts";
import { startBlackhole } from "./helpers/blackhole.ts";
import { keepAliveExchange } from "./helpers/keep-alive.ts";
import type { ServerProcess } from "./helpers/server-process.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

const UWSGI = findUwsgi();

/** What the fake backend does with a connection, once its packet's header and vars have arrived (`method`: REQUEST_METHOD; `bodyRead`: bytes of the body that came with them). */
type Behaviour = (socket: Socket, method: string, bodyRead: number) => void;

interface Fake {
  port: number;
  /** Requests that reached it, by method. */
  seen: string[];
  /** Connections accepted, and those that ended (closed by postern or by it). */
  accepted: number;
  closed: number;
  behave(behaviour: Behaviour): void;
  stop(): Promise<void>;
}

/** A uwsgi server on loopback that reads each packet's vars, then does what it is told. */
async function startFake(): Promise<Fake> {
  let behaviour: Behaviour = (socket) => socket.destroy();
  const fake = { seen: [] as string[], accepted: 0, closed: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    fake.accepted++;
    sockets.add(socket);
    let held = Buffer.alloc(0);
    let done = false;
    socket.on("close", () => {
      fake.closed++;
      sockets.delete(socket);
    });
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      if (done) return;
      held = Buffer.concat([held, chunk]);
      if (held.length < 4 || held.length < 4 + held.readUInt16LE(1)) return;
      done = true;
      const method = /REQUEST_METHOD\0?.{0,2}?(GET|POST|HEAD|PUT)/s.exec(held.toString("latin1"))?.[1] ?? "?";
      fake.seen.push(method);
      behaviour(socket, method, held.length - 4 - held.readUInt16LE(1));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    get seen() {
      return fake.seen;
    },
    get accepted() {
      return fake.accepted;
    },
    get closed() {
      return fake.closed;
    },
    behave: (b) => (behaviour = b),
    // A connection it holds paused never sees postern close it: ended here.
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(!UWSGI)("uwsgi faults", () => {
  let fake: Fake;
  let real: ServerProcess | undefined;
  let postern: RunningPostern | undefined;
  let base = "";

  beforeAll(async () => {
    [fake, real] = await Promise.all([startFake(), startUwsgi(UWSGI!, { protocol: "uwsgi", name: "real" })]);
    const routes = [
      // The fake first: round robin gives it the first request.
      `[[routes]]\npath = "/pair/*"\ngateway = "uwsgi"\nbackend = ["127.0.0.1:${fake.port}", "127.0.0.1:${real.port}"]\nbalance = "round_robin"\nfail_timeout = "1ms"`,
      `[[routes]]\npath = "/huge/*"\ngateway = "uwsgi"\nbackend = "127.0.0.1:${fake.port}"\nenv = { BIG = "${"x".repeat(70_000)}" }`,
      `[[routes]]\npath = "/upload/*"\ngateway = "uwsgi"\nbackend = "127.0.0.1:${fake.port}"\nfirst_byte_timeout = "1s"\nmax_buffered_body = "64m"`,
      `[[routes]]\npath = "/fake/*"\ngateway = "uwsgi"\nbackend = "127.0.0.1:${fake.port}"\nidle_timeout = "1s"\nfirst_byte_timeout = "30s"`,
      `[[routes]]\npath = "/slowclient/*"\ngateway = "uwsgi"\nbackend = "127.0.0.1:${fake.port}"\nresponse_buffer = "8m"`,
      `[[routes]]\npath = "/endless/*"\ngateway = "uwsgi"\nbackend = "127.0.0.1:${fake.port}"\nqueue_timeout = "3s"`,
      `[[routes]]\npath = "/after/*"\ngateway = "uwsgi"\nbackend = "127.0.0.1:${fake.port}"\nfirst_byte_timeout = "3s"\nmax_buffered_body = "64m"`,
    ];
    postern = await startPostern(routes.join("\n"));
    base = postern.url;
  }, 30_000);

  afterEach(() => {
    fake.seen.length = 0;
  });

  afterAll(async () => {
    await postern?.stop();
    await Promise.all([fake?.stop(), real?.stop()]);
  });

  test("a GET dropped before any answer goes to the other backend: 200", async () => {
    fake.behave((socket) => socket.destroy());
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${base}/pair/name`);
      expect({ status: res.status, text: await res.text() }).toEqual({ status: 200, text: "real" });
    }
    expect(fake.seen).toContain("GET");
  });

  test("a POST dropped before any answer: 502, never sent twice", async () => {
    fake.behave((socket) => socket.destroy());
    let dropped = 0;
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${base}/pair/env`, { method: "POST", body: "x=1" });
      if (res.status === 502) dropped++;
      else expect(res.status).toBe(200);
    }
    expect(dropped).toBe(fake.seen.length);
    expect(fake.seen).toEqual(["POST"]);
  });

  test("a vars block over 65535 bytes: 431, and no connection to the backend is even made", async () => {
    const before = fake.accepted;
    expect((await fetch(`${base}/huge/env`)).status).toBe(431);
    expect(fake.accepted).toBe(before);
    expect(postern!.errors.join("\n")).toMatch(/HEADERS_TOO_LARGE: uwsgi vars block of 70\d{3} bytes/);
  });

  test("an answer cut short of its Content-Length: the client's body fails, and it is logged", async () => {
    fake.behave((socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345"));
    const res = await fetch(`${base}/fake/x`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(postern!.errors.join("\n")).toMatch(/\/fake\/x: answer cut short: BACKEND_MALFORMED: CGI response: output ended 5 bytes short/);
  });

  test("a backend that resets the connection mid-answer, without a Content-Length: the client's body fails, never ends as if whole", async () => {
    fake.behave((socket) => socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart", () => setTimeout(() => socket.resetAndDestroy(), 100)));
    const res = await fetch(`${base}/fake/reset`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  test("bytes past the Content-Length are dropped", async () => {
    fake.behave((socket) => socket.end("Status: 200 OK\r\nContent-Length: 5\r\n\r\n12345EXTRA"));
    const res = await fetch(`${base}/fake/extra`);
    expect(await res.text()).toBe("12345");
  });

  test("forged responses past a Content-Length, after a 204 or in a HEAD answer never reach the kept connection: the next answer is the backend's", async () => {
    const forged = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged";
    const answers = [
      `Status: 200 OK\r\nContent-Length: 5\r\n\r\nhello${forged}`,
      `Status: 204 No Content\r\n\r\n${forged}`,
      `Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n${forged}`,
      "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nreal",
    ];
    fake.behave((socket) => socket.end(answers.shift()!));
    const kept = await keepAliveExchange(Number(new URL(base).port), [{ path: "/fake/a" }, { path: "/fake/b" }, { path: "/fake/c", method: "HEAD" }, { path: "/fake/d" }]);
    expect(kept.answers.map((a) => [a.status, a.body.toString()])).toEqual([
      [200, "hello"],
      [204, ""],
      [200, ""],
      [200, "real"],
    ]);
    expect({ rest: kept.rest.toString(), closed: kept.closed }).toEqual({ rest: "", closed: false });
  });

  test.each([
    ["CR in a value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\nbody"],
    ["Transfer-Encoding after a status line", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"],
    ["a bad status line", "HTTP/1.1 2xx OK\r\n\r\n"],
    ["no blank line before the close", "Status: 200 OK\r\nX: 1\r\n"],
    ["a head over max_response_header_size (64 KiB)", `HTTP/1.1 200 OK\r\nX: ${"a".repeat(70_000)}\r\n\r\n`],
  ])("%s: 502", async (_, answer) => {
    fake.behave((socket) => socket.end(answer));
    expect((await fetch(`${base}/fake/bad`)).status).toBe(502);
  });

  test("an answer sent before the 5 MiB body was read reaches the client", async () => {
    fake.behave((socket) => {
      socket.pause();
      socket.write("Status: 413 Too Large\r\nContent-Type: text/plain\r\n\r\nno", () => socket.destroySoon());
    });
    const res = await fetch(`${base}/fake/upload`, { method: "POST", body: new Uint8Array(5 * 1024 * 1024) });
    expect({ status: res.status, text: await res.text() }).toEqual({ status: 413, text: "no" });
  });

  test("a body still moving to a backend that reads it slowly does not count against first_byte_timeout", async () => {
    const size = 24 * 1024 * 1024;
    fake.behave((socket, _, bodyRead) => {
      // A MiB at a time, then 100 ms of nothing: the upload takes seconds, each pause well under the 1 s timeout.
      let read = bodyRead;
      let pauseAt = read + 1024 * 1024;
      socket.on("data", (chunk: Buffer) => {
        read += chunk.length;
        if (read >= size) return void socket.end("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nread " + read);
        if (read < pauseAt) return;
        pauseAt = read + 1024 * 1024;
        socket.pause();
        setTimeout(() => socket.resume(), 100);
      });
    });
    const res = await fetch(`${base}/upload/x`, { method: "POST", body: new Uint8Array(size) });
    expect({ status: res.status, text: await res.text() }).toEqual({ status: 200, text: `read ${size}` });
  }, 60_000);

  test("first_byte_timeout runs from the body sent whole, not from the head: a backend that reads late and answers within it is answered", async () => {
    const size = 24 * 1024 * 1024;
    fake.behave((socket, _, bodyRead) => {
      // 2 s before reading the body, then all of it at once, then the answer 1.5 s later: 3.5 s after the head, 1.5 s after the body.
      let read = bodyRead;
      socket.pause();
      setTimeout(() => socket.resume(), 2000);
      socket.on("data", (chunk: Buffer) => {
        read += chunk.length;
        if (read === size) setTimeout(() => socket.end("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nlate"), 1500);
      });
    });
    const res = await fetch(`${base}/after/x`, { method: "POST", body: new Uint8Array(size) });
    expect({ status: res.status, text: await res.text() }).toEqual({ status: 200, text: "late" });
  }, 60_000);

  test("a backend that stops reading the body and never answers: 504 after first_byte_timeout, not a hang", async () => {
    fake.behave((socket) => socket.pause());
    const res = await fetch(`${base}/upload/x`, { method: "POST", body: new Uint8Array(24 * 1024 * 1024) });
    expect(res.status).toBe(504);
  }, 60_000);

  test("a backend that does not accept the connection within connect_timeout: 504", async () => {
    const hole = await startBlackhole();
    const slow = await startPostern(`[[routes]]\ngateway = "uwsgi"\nbackend = "${hole!.address}"\nconnect_timeout = "1s"`);
    try {
      expect((await fetch(`${slow.url}/x`)).status).toBe(504);
      expect(slow.errors.join("\n")).toMatch(/BACKEND_CONNECT_TIMEOUT/);
    } finally {
      await slow.stop();
      await hole!.stop();
    }
  });

  test("a backend silent mid-answer for idle_timeout: the answer is cut and the connection closed", async () => {
    let socketOf: Socket | undefined;
    fake.behave((socket) => {
      socketOf = socket;
      socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst");
    });
    const res = await fetch(`${base}/fake/stall`);
    await expect(res.text()).rejects.toThrow();
    // postern's close reaches the backend's socket on its own schedule, not the client's.
    const deadline = Date.now() + 10_000;
    while (!(socketOf!.destroyed || socketOf!.readableEnded) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(socketOf!.destroyed || socketOf!.readableEnded).toBe(true);
  });

  test("a client that stops reading for 2 s: once response_buffer is full, the backend's writes stall (memory stays bounded)", async () => {
    const MiB = 1024 * 1024;
    const total = 256 * MiB;
    let written = 0;
    fake.behave((socket) => {
      socket.write("Status: 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n");
      const piece = Buffer.alloc(64 * 1024);
      // Each write waits for the socket to take more: what it has taken is what postern read.
      const more = () => {
        while (written < total) {
          written += piece.length;
          if (!socket.write(piece)) return void socket.once("drain", more);
        }
        socket.end();
      };
      more();
    });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    let paused: Promise<{ atPause: number; early: number; late: number }> | undefined;
    const received = await new Promise<number>((resolve, reject) => {
      const request = httpGet(`${base}/slowclient/big`, { agent: false }, (res) => {
        let count = 0;
        res.on("data", (chunk: Buffer) => {
          count += chunk.length;
          if (paused || count < 32 * MiB) return;
          res.pause();
          paused = (async () => {
            // The buffers on the way fill up: however slow the machine, the backend is held once its writes stop for 500 ms.
            let early = written;
            for (let still = 0; still < 500; ) {
              await sleep(100);
              still = written === early ? still + 100 : 0;
              early = written;
            }
            await sleep(1_500);
            const late = written;
            res.resume();
            return { atPause: count, early, late };
          })();
        });
        res.on("end", () => resolve(count));
        res.on("error", reject);
      });
      request.on("error", reject);
    });
    expect(received).toBe(total);
    const p = await paused!;
    // Nothing more was taken from the backend while the client read nothing, and what sits between them stays small.
    expect(p.late - p.early).toBe(0);
    expect((p.late - p.atPause) / MiB).toBeLessThan(32);
  }, 60_000);

  test("a HEAD to an endless answer does not hold the backend once the client has its head: the next request is served", async () => {
    const closedBefore = fake.closed;
    fake.behave((socket, method) => {
      if (method !== "HEAD") return void socket.end("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nnext");
      // An event stream, say: it never ends, each write waits for the socket to take more.
      socket.write("Status: 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
      const piece = Buffer.alloc(16 * 1024, "x");
      const more = (): void => {
        while (!socket.destroyed) if (!socket.write(piece)) return void socket.once("drain", more);
      };
      more();
    });
    const head = await fetch(`${base}/endless/events`, { method: "HEAD" });
    expect(head.status).toBe(200);
    // The route serves one request at a time (max_conns = 1): this one waits for the HEAD's backend connection.
    const next = await fetch(`${base}/endless/next`);
    expect({ status: next.status, text: await next.text() }).toEqual({ status: 200, text: "next" });
    expect(fake.closed).toBeGreaterThan(closedBefore);
  }, 30_000);

  test("a client that leaves while the backend works: the backend's connection is closed", async () => {
    const before = fake.closed;
    fake.behave(() => undefined);
    const controller = new AbortController();
    const pending = fetch(`${base}/fake/slow`, { signal: controller.signal }).catch(() => "aborted");
    const deadline = Date.now() + 10_000;
    while (fake.seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    expect(await pending).toBe("aborted");
    while (fake.closed === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fake.closed).toBeGreaterThan(before);
  });
});
