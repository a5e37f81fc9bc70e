// postern listening on a unix socket on each runtime, where a socket file
// left by a server that died is in the way: the file is replaced, not an
// "address in use" at startup.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { stopProcessGroup } from "../helpers/server-process.ts";
import { PUBLIC, ROOT } from "./suite.ts";

const COMMANDS: Record<string, string[]> = {
  node: [process.execPath, join(ROOT, "bin/postern.js")],
  deno: [join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--unstable-no-legacy-abort", join(ROOT, "bin/postern.ts")],
  bun: [join(ROOT, "node_modules/.bin/bun"), join(ROOT, "bin/postern.ts")],
};

/** GET `path` over the unix socket; the status, or null while nothing answers there. */
function getOverSocket(socketPath: string, path: string): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, headers: { host: "localhost" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", () => resolve(null));
    req.end();
  });
}

test.each(["node", "deno", "bun"])("on %s, a stale file where the socket goes is replaced", async (name) => {
  const dir = mkdtempSync(join(tmpdir(), `postern-unix-${name}-`));
  const socket = join(dir, "postern.sock");
  writeFileSync(socket, "left behind");
  writeFileSync(join(dir, "postern.toml"), `listen = ["unix:${socket}"]\naccess_log = false\n[[routes]]\npath = "*"\ngateway = "static"\nroot = ${JSON.stringify(PUBLIC)}\n`);
  const [file, ...args] = COMMANDS[name]!;
  const proc = spawn(file!, [...args, "serve", "--config", join(dir, "postern.toml")], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let log = "";
  proc.stderr!.on("data", (d) => (log += d));
  try {
    let answer: { status: number; body: string } | null = null;
    for (const deadline = Date.now() + 20_000; !answer && Date.now() < deadline && proc.exitCode === null; ) {
      answer = await getOverSocket(socket, "/index.html");
      if (!answer) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(answer, log).not.toBeNull();
    expect(answer!.status).toBe(200);
    expect(answer!.body).toContain("<title>postern demo</title>");
  } finally {
    await stopProcessGroup(proc, "SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
