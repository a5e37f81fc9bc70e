// The `[client]` limits as each runtime's server enforces them, through the
// real CLI on Node, Deno and Bun: the head sizes everywhere, and the
// timeouts and request count where the runtime's server can keep them; where
// it cannot (docs/runtimes.md), the test pins what it does instead, so that
// a runtime that starts to enforce one is noticed.

import { writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { serve, type RunningServer } from "../runtimes/node/serve.ts";
import { makeCgiTree, type CgiTree } from "./helpers/cgi-fixtures.ts";
import { spawnPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { parseAnswers } from "./helpers/raw-exchange.ts";
import { stalledReader } from "./helpers/slow-client.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const HEADER_TIMEOUT_S = 2;
/** An answer far larger than what the kernel's buffers hold for a client that reads nothing. */
const BIG = 20 * 1024 * 1024;

const CLIENT = `[client]
max_request_line = 200
max_header_size = 300
max_headers = 10
max_header_bytes = 1000
header_timeout = "${HEADER_TIMEOUT_S}s"
keepalive_timeout = "1s"
keepalive_requests = 2
body_timeout = "1s"
send_timeout = "1s"
`;

/** A client connection that records what it gets and when the server closes it. */
interface Conn {
  socket: Socket;
  received(): string;
  /** Settles with true when the server closes the connection within `ms`, false if it is still open then. */
  closesWithin(ms: number): Promise<boolean>;
  /** Resolves once `n` whole answers have come. */
  answers(n: number): Promise<void>;
}

/**
 * A connection to `port`; from `localPort` when given, and then reset when
 * the server closes it, so that the port is free again at once (a client
 * that closes second after a FIN may still end in TIME_WAIT).
 */
function open(port: number, localPort?: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress: "127.0.0.1", localPort, allowHalfOpen: localPort !== undefined });
    if (localPort !== undefined) socket.once("end", () => socket.resetAndDestroy());
    let text = "";
    let closed = false;
    const waiters: (() => void)[] = [];
    const wake = () => waiters.splice(0).forEach((w) => w());
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      wake();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      closed = true;
      wake();
    });
    const wait = (done: () => boolean, ms: number) =>
      new Promise<boolean>((settle) => {
        const check = () => {
          if (done()) return settle(true);
          waiters.push(check);
        };
        setTimeout(() => settle(done()), ms);
        check();
      });
    socket.once("connect", () =>
      resolve({
        socket,
        received: () => text,
        closesWithin: (ms) => wait(() => closed, ms),
        answers: async (n) => {
          if (!(await wait(() => closed || answersIn(text) >= n, 15_000))) throw new Error(`no ${n} answers: ${text}`);
        },
      }),
    );
    socket.once("error", reject);
  });
}


/** A connection from `localPort` again, once the kernel has let go of the last one from there (its final ACK). */
async function reopen(port: number, localPort: number): Promise<Conn> {
  for (let tries = 0; ; tries++) {
    try {
      return await open(port, localPort);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (tries >= 100 || (code !== "EADDRNOTAVAIL" && code !== "EADDRINUSE")) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Whether the answer to a GET on a new connection from `localPort` says Connection: close. */
async function firstAnswerCloses(port: number, localPort: number): Promise<boolean> {
  const conn = await reopen(port, localPort);
  conn.socket.write(get("/"));
  await conn.answers(1);
  conn.socket.destroy();
  return parseAnswers(Buffer.from(conn.received(), "latin1"))[0]!.headers.some(([name, value]) => name === "connection" && value === "close");
}

/** The status of the first answer a raw request gets. */
async function statusOf(port: number, request: string): Promise<number | undefined> {
  const conn = await open(port);
  conn.socket.write(request);
  await conn.answers(1);
  conn.socket.destroy();
  return parseAnswers(Buffer.from(conn.received(), "latin1"))[0]?.status;
}

/** How many whole answers `text` holds (an answer cut short by the network so far is not one). */
function answersIn(text: string): number {
  try {
    return parseAnswers(Buffer.from(text, "latin1")).length;
  } catch {
    return 0;
  }
}

const get = (target: string, fields = "") => `GET ${target} HTTP/1.1\r\nHost: x\r\n${fields}\r\n`;

for (const runtime of ["node", "deno", "bun"] as const satisfies CliRuntime[]) {
  describe(`[client] on ${runtime}`, () => {
    let tree: CgiTree | undefined;
    let port = 0;
    let stop: () => Promise<void> = async () => undefined;

    beforeAll(async () => {
      tree = makeCgiTree([
        { path: "www/cgi/cat.sh", text: "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\ncat\n", mode: 0o755 },
        { path: "www/cgi/big.sh", text: `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nhead -c ${BIG} /dev/zero\n`, mode: 0o755 },
        { path: "public/index.html", text: "hello\n", mode: 0o644 },
      ]);
      port = await freePort();
      const config = join(tree.dir, "postern.toml");
      writeFileSync(
        config,
        `listen = "127.0.0.1:${port}"\naccess_log = false\n${CLIENT}` +
          `[[routes]]\npath = "/cgi/*"\ngateway = "cgi"\nroot = "${tree.root}"\ninterpreters = { ".sh" = "sh" }\n` +
          `[[routes]]\ngateway = "static"\nroot = "${join(tree.dir, "public")}"\n`,
      );
      const { proc, log } = spawnPostern(runtime, ["serve", "--config", config]);
      stop = () => stopProcessGroup(proc, "SIGTERM");
      await waitForPort(proc, port, `postern on ${runtime}`, log, 30_000);
    }, 60_000);

    afterAll(async () => {
      await stop();
      tree?.remove();
    });

    test("a request line over max_request_line: 414", async () => {
      expect(await statusOf(port, get(`/${"a".repeat(150)}`))).toBe(404);
      expect(await statusOf(port, get(`/${"a".repeat(200)}`))).toBe(414);
      // Longer than the whole head may be: still the request line's 414.
      expect(await statusOf(port, get(`/${"a".repeat(1100)}`))).toBe(414);
      // Past max_request_line and max_header_bytes together, Node's parser gives up first: its 431.
      expect(await statusOf(port, get(`/${"a".repeat(1300)}`))).toBe(runtime === "node" ? 431 : 414);
    });

    test("a field line over max_header_size: 431", async () => {
      expect(await statusOf(port, get("/", `X-Long: ${"v".repeat(280)}\r\n`))).toBe(200);
      expect(await statusOf(port, get("/", `X-Long: ${"v".repeat(300)}\r\n`))).toBe(431);
    });

    test("more field lines than max_headers: 431", async () => {
      const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: v\r\n`).join("");
      // Host is one of them.
      expect(await statusOf(port, get("/", fields(9)))).toBe(200);
      expect(await statusOf(port, get("/", fields(10)))).toBe(431);
    });

    test("a head over max_header_bytes: 431", async () => {
      const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: ${"v".repeat(240)}\r\n`).join("");
      expect(await statusOf(port, get("/", fields(3)))).toBe(200);
      expect(await statusOf(port, get("/", fields(4)))).toBe(431);
    });

    test("a route without its own body_timeout takes [client]'s: a stalled body gets 408", async () => {
      const conn = await open(port);
      conn.socket.write("POST /cgi/cat.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab");
      // Well before the route default (60 s).
      await conn.answers(1);
      expect(parseAnswers(Buffer.from(conn.received(), "latin1"))[0]?.status).toBe(408);
      conn.socket.destroy();
    }, 20_000);

    test("a route without its own send_timeout takes [client]'s: a client that reads nothing is cut", async () => {
      const client = stalledReader(port, "/cgi/big.sh");
      try {
        // send_timeout is 1 s (the route default 60 s): by 6 s the client has been cut; what it reads then ends short.
        await new Promise((resolve) => setTimeout(resolve, 6_000));
        client.resume();
        await client.closed;
        expect(client.received().byteLength).toBeLessThan(BIG);
      } finally {
        client.stop();
      }
    }, 30_000);

    const slowloris = {
      node: " is cut after header_timeout with 408",
      deno: ": not enforced on deno, the connection stays open",
      bun: ": bun cuts it after its own 10 s, whatever header_timeout, without an answer",
    }[runtime];
    test(`a head sent a byte a second (slowloris)${slowloris}`, async () => {
      const conn = await open(port);
      const head = get("/", `X-Pad: ${"a".repeat(40)}\r\n`);
      let sent = 0;
      const drip = setInterval(() => {
        if (sent < head.length && !conn.socket.destroyed) conn.socket.write(head[sent++]!);
      }, 1_000);
      try {
        if (runtime === "node") {
          expect(await conn.closesWithin(15_000)).toBe(true);
          expect(sent).toBeLessThan(head.length);
          expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
        } else {
          // Not after header_timeout: Deno.serve has no header timeout, Bun's is its own.
          expect(await conn.closesWithin(3 * HEADER_TIMEOUT_S * 1000)).toBe(false);
          if (runtime === "bun") expect(await conn.closesWithin(30_000)).toBe(true);
          expect(conn.received()).toBe("");
        }
      } finally {
        clearInterval(drip);
        conn.socket.destroy();
      }
    }, 60_000);

    const idle = {
      node: " is closed after keepalive_timeout",
      deno: ": keepalive_timeout not enforced on deno, it stays open",
      bun: " is closed after bun's idleTimeout (the longest of keepalive_timeout, body_timeout and send_timeout, and 4 s)",
    }[runtime];
    test(`an idle kept connection${idle}`, async () => {
      const conn = await open(port);
      conn.socket.write(get("/"));
      await conn.answers(1);
      if (runtime === "deno") expect(await conn.closesWithin(4_000)).toBe(false);
      // Sooner than Node's own 5 s.
      else if (runtime === "node") expect(await conn.closesWithin(4_000)).toBe(true);
      // Bun: its one idle timer, the longest of keepalive_timeout, body_timeout and send_timeout (1 s each here) and 4 s.
      else expect(await conn.closesWithin(15_000)).toBe(true);
      conn.socket.destroy();
    }, 30_000);

    const unread = {
      node: " gets 2 s more to come, then the connection is closed (nginx's lingering_time)",
      deno: ": held open while it trickles in (a Deno.serve handler cannot close a connection)",
      bun: " is closed after bun's idleTimeout, which the bytes do not put off",
    }[runtime];
    test(`the body of a GET its answer did not wait for, trickled in a byte a second,${unread}`, async () => {
      const conn = await open(port);
      conn.socket.write("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nA");
      const drip = setInterval(() => conn.socket.destroyed || conn.socket.write("B"), 1_000);
      try {
        await conn.answers(1);
        expect(parseAnswers(Buffer.from(conn.received(), "latin1"))[0]?.status).toBe(200);
        if (runtime === "bun") expect(await conn.closesWithin(15_000)).toBe(true);
        else expect(await conn.closesWithin(8_000)).toBe(runtime === "node");
      } finally {
        clearInterval(drip);
        conn.socket.destroy();
      }
    }, 30_000);

    // Deno counts no requests (keepalive_requests is not enforced there), and keeps a refused connection open.
    test.skipIf(runtime === "deno")("a new connection from the port of one that closed starts its own count of requests", async () => {
      // Each closed by the server (a request saying Connection: close, a
      // refusal), so that the client may take the same port again at once.
      const endings = [[get("/", "Connection: close\r\n")], [get("/"), get("/", `X-Long: ${"v".repeat(300)}\r\n`)]];
      for (const requests of endings) {
        const from = await freePort();
        const first = await open(port, from);
        for (const [i, request] of requests.entries()) {
          first.socket.write(request);
          await first.answers(i + 1);
        }
        expect(await first.closesWithin(10_000)).toBe(true);
        first.socket.destroy();
        // keepalive_requests is 2: the new connection's first answer is not its last.
        expect(await firstAnswerCloses(port, from)).toBe(false);
      }
    }, 30_000);

    // Bun closes a connection with pipelined requests unanswered, Deno counts none (docs/runtimes.md).
    test.runIf(runtime === "node")("keepalive_requests: a request pipelined behind the last is left unanswered, for the client to send again", async () => {
      const conn = await open(port);
      conn.socket.write(get("/") + get("/") + get("/"));
      expect(await conn.closesWithin(10_000)).toBe(true);
      const answers = parseAnswers(Buffer.from(conn.received(), "latin1"));
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      expect(answers[1]!.headers).toContainEqual(["connection", "close"]);
    }, 20_000);

    // Bun's own 431 (a head over 16 KiB) closes a connection its fetch never hears of.
    test.runIf(runtime === "bun")("the count of a connection bun closed on its own is not inherited after the soonest idle close", async () => {
      const from = await freePort();
      const first = await open(port, from);
      first.socket.write(get("/"));
      await first.answers(1);
      first.socket.write(get("/", `X-Long: ${"v".repeat(17 * 1024)}\r\n`));
      expect(await first.closesWithin(10_000)).toBe(true);
      // Past the soonest bun closes an idle connection (1 s of [client] timeouts here), well within its idleTimeout (5 s).
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(await firstAnswerCloses(port, from)).toBe(false);
    }, 30_000);

    test(`keepalive_requests${runtime === "deno" ? " not enforced on deno: no Connection: close" : ": the last allowed answer says Connection: close, and the connection ends"}`, async () => {
      const conn = await open(port);
      conn.socket.write(get("/"));
      await conn.answers(1);
      conn.socket.write(get("/"));
      await conn.answers(2);
      const [first, second] = parseAnswers(Buffer.from(conn.received(), "latin1"));
      expect(first!.headers).not.toContainEqual(["connection", "close"]);
      if (runtime !== "deno") {
        expect(second!.headers).toContainEqual(["connection", "close"]);
        expect(await conn.closesWithin(5_000)).toBe(true);
      } else {
        expect(second!.headers).not.toContainEqual(["connection", "close"]);
      }
      conn.socket.destroy();
    }, 20_000);
  });
}

describe("[client] on node's own server, beyond the CLI's limits", () => {
  let server: RunningServer;
  let port = 0;

  beforeAll(async () => {
    server = await serve({ fetch: () => new Response("ok") }, { listen: ["127.0.0.1:0"], client: { maxHeaders: 2500, maxHeaderBytes: 64 * 1024 } });
    const addr = server.addresses[0]!;
    if (addr.kind !== "tcp") throw new Error("expected a TCP address");
    port = addr.port;
  });

  afterAll(() => server.close());

  test("max_headers above Node's own 2000 field lines: every line is counted", async () => {
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `X${i}: v\r\n`).join("");
    expect(await statusOf(port, get("/", fields(2400)))).toBe(200);
    expect(await statusOf(port, get("/", fields(2600)))).toBe(431);
  });

  test("a GET whose body comes whole keeps its connection for the next request", async () => {
    const conn = await open(port);
    conn.socket.write("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    await conn.answers(1);
    // Well past the 2 s a body the answer did not wait for is given.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    conn.socket.write(get("/"));
    await conn.answers(2);
    expect(parseAnswers(Buffer.from(conn.received(), "latin1")).map((a) => a.status)).toEqual([200, 200]);
    conn.socket.destroy();
  }, 20_000);
});
