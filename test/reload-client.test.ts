// A SIGHUP reload and the [client] table: the server's own limits stay as
// they were started (a new request line limit waits for a restart, and the
// log says so), while the routes' body_timeout, inherited from [client],
// follows the reloaded config at once.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { spawnPostern } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

let dir = "";
let stop: () => Promise<void> = async () => undefined;

afterEach(async () => {
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

async function until(ready: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return ready();
}

/** The status line of the answer to `head`, sent alone on a new connection (its body, if it declares one, never comes). */
function statusOf(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      received += chunk;
      const end = received.indexOf("\r\n");
      if (end >= 0) {
        socket.destroy();
        resolve(received.slice(0, end));
      }
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(received));
    socket.write(head);
  });
}

test("after a SIGHUP changing [client], the request line limit stays until a restart and the routes' body_timeout follows at once", async () => {
  dir = mkdtempSync(join(tmpdir(), "postern-reload-client-"));
  mkdirSync(join(dir, "cgi"));
  writeFileSync(join(dir, "cgi/hello.sh"), "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nhello\\n'\n", { mode: 0o755 });
  giveToScriptUser(dir);
  const port = await freePort();
  const config = join(dir, "postern.toml");
  const route = `[[routes]]\ngateway = "cgi"\nroot = "${dir}"\ninterpreters = { ".sh" = "sh" }\n`;
  writeFileSync(config, `listen = "127.0.0.1:${port}"\naccess_log = false\n${route}`);
  const { proc, log } = spawnPostern("node", ["serve", "--config", config]);
  stop = () => stopProcessGroup(proc, "SIGTERM");
  await waitForPort(proc, port, "postern", log, 30_000);

  writeFileSync(config, `listen = "127.0.0.1:${port}"\naccess_log = false\n[client]\nmax_request_line = 64\nbody_timeout = "1s"\n${route}`);
  proc.kill("SIGHUP");
  expect(await until(() => log().includes("config reloaded"), 10_000)).toBe(true);
  expect(log()).toContain("[client] limits change only on a restart");

  // Over the reloaded 64 bytes, within the running default.
  const long = `/cgi/hello.sh?${"a".repeat(100)}`;
  expect(await statusOf(port, `GET ${long} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)).toBe("HTTP/1.1 200 OK");
  // A body that never comes: 408 after the reloaded 1 s, not the default 60 s.
  const stalled = statusOf(port, "POST /cgi/hello.sh HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n");
  expect(await Promise.race([stalled, new Promise((r) => setTimeout(() => r("no answer within 20 s"), 20_000))])).toMatch(/^HTTP\/1\.1 408 /);
}, 60_000);
