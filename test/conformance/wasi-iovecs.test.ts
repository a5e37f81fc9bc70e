// A WASI module asking the host for more than it may, on each runtime's
// worker threads: fd_write with 0x7fffffff iovecs is EINVAL at once, the
// gateway's memory does not grow with the count (it once built one
// typed-array view per iovec: gigabytes for one request), and the route
// answers the next request.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { fdWriteModule } from "../fixtures/wasi/wasm.ts";
import { spawnPostern, type CliRuntime } from "../helpers/postern-cli.ts";
import { freePort } from "../helpers/ports.ts";
import { stopProcessGroup, waitForPort } from "../helpers/server-process.ts";

const RUNTIMES: CliRuntime[] = ["node", "deno", "bun"];
const MiB = 1024 * 1024;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Resident memory of process `pid`, in bytes (Linux). */
const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;

test.each(RUNTIMES)("on %s, fd_write asked to take 0x7fffffff iovecs is EINVAL, postern's memory stays put, and it answers on", async (runtime) => {
  const dir = mkdtempSync(join(tmpdir(), `postern-iovecs-${runtime}-`));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  // 16 MiB of memory: room for 2 million iovecs.
  const module = join(dir, "iovecs.wasm");
  writeFileSync(module, fdWriteModule(0x7fffffff, 256));
  const port = await freePort();
  const { proc, log } = spawnPostern(runtime, ["wasi", module, "--listen", `127.0.0.1:${port}`]);
  cleanups.push(() => stopProcessGroup(proc, "SIGTERM"));
  await waitForPort(proc, port, `postern on ${runtime}`, log, 30_000);

  const before = rss(proc.pid!);
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect({ status: res.status, body: await res.text() }, log()).toEqual({ status: 200, body: "errno=28\n" });
  }
  // What the threads that ran it started with (their heaps, the module's 16 MiB each), under 100 MiB:
  // the 2 million views took 360 MiB (Bun) to 870 MiB (Node) more.
  expect(rss(proc.pid!) - before).toBeLessThan(256 * MiB);
}, 60_000);
