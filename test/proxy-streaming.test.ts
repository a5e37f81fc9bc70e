// 1 GiB through a proxy route each way on the postern CLI (Node), its
// resident memory sampled all along: a body is spooled (memory, then a
// temporary file) and streamed on with backpressure, or, with
// request_buffering = false, streamed to the backend as it arrives; an
// answer read ahead within response_buffer: memory stays flat whatever the size.

import { readFileSync } from "node:fs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startBackend, type Backend, type Seen } from "./helpers/proxy-backend.ts";
import { spawnPostern } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Resident memory of `pid`, in bytes (Linux /proc). */
function rss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) * 1024;
}

/** The most memory `pid` held while `run` ran. */
async function peakDuring(pid: number, run: () => Promise<void>): Promise<number> {
  let peak = rss(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rss(pid))), 50);
  try {
    await run();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rss(pid));
}

describe("1 GiB each way through a proxy route, memory flat", () => {
  let backend: Backend;
  let dir = "";
  let pid = 0;
  let base = "";
  let stop: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    backend = await startBackend("a");
    dir = mkdtempSync(join(tmpdir(), "postern-proxy-stream-"));
    const port = await freePort();
    const config = join(dir, "postern.toml");
    const route = (path: string, extra: string) => `[[routes]]\npath = "${path}"\ngateway = "proxy"\nbackend = "http://127.0.0.1:${backend.port}"\nmax_body_size = "2g"\n${extra}`;
    writeFileSync(config, `listen = "127.0.0.1:${port}"\naccess_log = false\n${route("/direct/*", "request_buffering = false\n")}${route("/*", "")}`);
    const { proc, log } = spawnPostern("node", ["serve", "--config", config]);
    pid = proc.pid!;
    stop = () => stopProcessGroup(proc, "SIGTERM");
    await waitForPort(proc, port, "postern", log, 30_000);
    base = `http://127.0.0.1:${port}`;
  }, 60_000);

  afterAll(async () => {
    await stop();
    await backend?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Uploads 1 GiB to `path`, made as it is sent; the backend's count of what it received. */
  async function upload(path: string): Promise<number | undefined> {
    const piece = new Uint8Array(MiB).fill(7);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= GiB) return controller.close();
        sent += piece.byteLength;
        controller.enqueue(piece);
      },
    });
    const res = await fetch(`${base}${path}`, { method: "POST", body, duplex: "half", headers: { "content-length": String(GiB) } } as RequestInit);
    return ((await res.json()) as Seen).length;
  }

  test("a 1 GiB upload (spooled, and streamed as it comes) and a 1 GiB download", async () => {
    // Warm up: what the first requests allocate for good is not the bodies' cost.
    await (await fetch(`${base}/stream?mb=16`)).arrayBuffer();
    const before = rss(pid);
    let length: number | undefined;
    const uploadPeak = await peakDuring(pid, async () => void (length = await upload("/up")));
    expect(length).toBe(GiB);
    const directPeak = await peakDuring(pid, async () => void (length = await upload("/direct/up")));
    expect(length).toBe(GiB);
    let received = 0;
    const downloadPeak = await peakDuring(pid, async () => {
      const res = await fetch(`${base}/stream?mb=1024`);
      const reader = res.body!.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) received += r.value.byteLength;
    });
    expect(received).toBe(GiB);
    console.log(`postern RSS: ${(before / MiB).toFixed(0)} MiB before, peak ${(uploadPeak / MiB).toFixed(0)} MiB uploading (spooled), ${(directPeak / MiB).toFixed(0)} MiB (streamed), ${(downloadPeak / MiB).toFixed(0)} MiB downloading`);
    // The buffers: 16 MiB of body in memory (max_buffered_body), 1 MiB of answer; the rest is the collector's slack.
    expect(uploadPeak - before).toBeLessThan(256 * MiB);
    expect(directPeak - before).toBeLessThan(256 * MiB);
    expect(downloadPeak - before).toBeLessThan(256 * MiB);
  }, 300_000);
});
