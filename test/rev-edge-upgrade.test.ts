// An upgrade request on Node's server takes another path than other requests
// (the server's "upgrade" event): the same checks of the request head must
// still refuse it (two Host fields, too many fields), and the route's
// modules (auth) still run before anything reaches the backend.

import { execFileSync } from "node:child_process";
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startWsBackend, type WsBackend } from "./helpers/proxy-ws.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { rawRequest } from "./helpers/raw-http.ts";
import { requireBinary } from "./helpers/binaries.ts";

const HTPASSWD = requireBinary(["htpasswd"], "apache2-utils");

const upgradeHead = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;

describe.skipIf(HTPASSWD === undefined)("upgrade requests on Node meet the same checks as any other", () => {
  let backend: WsBackend;
  let postern: RunningPostern;
  let port = 0;

  beforeAll(async () => {
    backend = await startWsBackend();
    const dir = mkdtempSync(join(tmpdir(), "rev-edge-"));
    execFileSync(HTPASSWD!, ["-b", "-B", "-c", join(dir, "users"), "alice", "secret"], { stdio: "ignore" });
    postern = await startPostern(
      `[[routes]]\npath = "/private/*"\ngateway = "proxy"\nbackend = "http://127.0.0.1:${backend.port}"\nauth = { htpasswd = "${join(dir, "users")}" }\n` +
        `[[routes]]\npath = "/ws/*"\ngateway = "proxy"\nbackend = "http://127.0.0.1:${backend.port}"\n`,
    );
    port = Number(new URL(postern.url).port);
  });

  afterAll(async () => {
    await postern?.stop();
    await backend?.stop();
  });

  test("a well-formed upgrade is switched (the rig works)", async () => {
    expect(await statusLine(port, upgradeHead("/ws/x"))).toMatch(/^HTTP\/1\.1 101 /);
  });

  test("two Host fields: 400, never a tunnel", async () => {
    expect((await rawRequest(port, upgradeHead("/ws/x", "Host: evil\r\n"))).status).toBe(400);
  });

  test("more fields than max_headers: 431", async () => {
    const many = Array.from({ length: 150 }, (_, i) => `X-F${i}: v\r\n`).join("");
    expect((await rawRequest(port, upgradeHead("/ws/x", many))).status).toBe(431);
  });

  test("a route with auth refuses an upgrade without credentials", async () => {
    expect((await rawRequest(port, upgradeHead("/private/x"))).status).toBe(401);
  });
});

/** The first line of the answer; the connection stays open after a 101, so it is closed once the line is in. */
function statusLine(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const socket = connect({ port, host: "127.0.0.1" }, () => socket.write(request));
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (text.includes("\r\n")) {
        socket.destroy();
        resolve(text.slice(0, text.indexOf("\r\n")));
      }
    });
    socket.once("error", reject);
  });
}

/** A backend that switches to whatever protocol a request's Upgrade names first (as an h2c server would), to h2c on /always-h2c; records each Upgrade it was sent. */
async function startSwitchingBackend(): Promise<{ port: number; seen: string[]; stop(): Promise<void> }> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    let head = "";
    socket.on("data", (d: Buffer) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const upgrade = /\r\nupgrade: *([^\r]*)/i.exec(head)?.[1] ?? "";
      seen.push(upgrade);
      const to = head.startsWith("GET /always-h2c ") ? "h2c" : upgrade.split(",")[0]!.trim();
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${to}\r\n\r\n`);
      head = "";
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("an upgrade is only ever to WebSocket (h2c smuggling)", () => {
  let backend: Awaited<ReturnType<typeof startSwitchingBackend>>;
  let postern: RunningPostern;
  let port = 0;

  beforeAll(async () => {
    backend = await startSwitchingBackend();
    postern = await startPostern(`[[routes]]\npath = "/*"\ngateway = "proxy"\nbackend = "http://127.0.0.1:${backend.port}"\n`);
    port = Number(new URL(postern.url).port);
  });

  afterAll(async () => {
    await postern?.stop();
    await backend?.stop();
  });

  test("`Upgrade: h2c, websocket` reaches the backend as websocket alone", async () => {
    const head = upgradeHead("/x").replace("Upgrade: websocket", "Upgrade: h2c, websocket");
    expect(await statusLine(port, head)).toMatch(/^HTTP\/1\.1 101 /);
    expect(backend.seen.at(-1)).toBe("websocket");
  });

  test("a backend that switches to another protocol than websocket: 502, no tunnel", async () => {
    expect((await rawRequest(port, upgradeHead("/always-h2c"))).status).toBe(502);
  });
});
