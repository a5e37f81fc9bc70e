// A proxy route to Python's own HTTP server (`python3 -m http.server`, an
// HTTP/1.0 server whose answers end at its close): files and directory
// listings arrive whole, a missing file's 404 passes through, and each
// request takes a connection of its own (HTTP/1.0 keeps none).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { freePort } from "./helpers/ports.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const PYTHON = requireBinary(["python3"], "python3");

describe.skipIf(!PYTHON)("a proxy route to python3 -m http.server", () => {
  let dir = "";
  let postern: RunningPostern;
  let stop: () => Promise<void> = async () => undefined;
  const file = randomBytes(3 * 1024 * 1024);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-proxy-python-"));
    writeFileSync(join(dir, "data.bin"), file);
    writeFileSync(join(dir, "hello.txt"), "hello\n");
    const port = await freePort();
    let log = "";
    const proc = spawn("/usr/bin/python3", ["-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, String(port)], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout!.on("data", (c: Buffer) => (log += c.toString()));
    proc.stderr!.on("data", (c: Buffer) => (log += c.toString()));
    stop = () => stopProcessGroup(proc, "SIGTERM");
    await waitForPort(proc, port, "python3 -m http.server", () => log);
    postern = await startPostern(`[[routes]]\npath = "/*"\ngateway = "proxy"\nbackend = "http://127.0.0.1:${port}"\n`);
  }, 30_000);

  afterAll(async () => {
    await postern?.stop();
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("files, a listing and a 404, several times over", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${postern.url}/data.bin`);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(file)).toBe(true);
      expect(await (await fetch(`${postern.url}/hello.txt`)).text()).toBe("hello\n");
      expect(await (await fetch(`${postern.url}/`)).text()).toContain("hello.txt");
      expect((await fetch(`${postern.url}/missing`)).status).toBe(404);
    }
    const head = await fetch(`${postern.url}/data.bin`, { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe(String(file.byteLength));
  });
});
