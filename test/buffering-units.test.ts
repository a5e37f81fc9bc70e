// The buffers between a slow client and a backend (src/buffer/): the Spool's
// memory, budget and temporary file, and read-ahead, which must never hold
// bytes back from a client that reads, must release the backend while a slow
// one does not, must stop at its bound, and must cut a client that stops.

import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BufferBudget } from "../src/buffer/budget.ts";
import { readAhead } from "../src/buffer/read-ahead.ts";
import { Spool } from "../src/buffer/spool.ts";
import { GatewayError } from "../src/errors.ts";
import { forwardedBody, receiveBody } from "../src/http/request-body.ts";
import { fs } from "../runtimes/node/fs.ts";

const KiB = 1024;
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

let tmp: string;
let savedTmp: string | undefined;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "postern-buffering-units-"));
  savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
});
afterAll(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(tmp, { recursive: true, force: true });
});
const spoolDirs = () => readdirSync(tmp).filter((name) => name.startsWith("postern-spool-"));

async function drain(spool: Spool): Promise<number[]> {
  const out: number[] = [];
  for (let part = await spool.shift(); part !== null; part = await spool.shift()) out.push(...part);
  return out;
}

describe("Spool", () => {
  test("memory first, then a temporary file; read back in order; the file is gone after dispose", async () => {
    const budget = new BufferBudget(1024 * KiB);
    const spool = new Spool({ memory: 8 * KiB, limit: 1024 * KiB, budget, files: fs });
    for (let i = 0; i < 4; i++) expect(await spool.push(bytes(4 * KiB, i))).toBe("held");
    expect(spool.usedFile).toBe(true);
    expect(budget.used).toBe(8 * KiB);
    expect(spoolDirs()).toHaveLength(1);
    const out = await drain(spool);
    expect(out).toEqual([...bytes(4 * KiB, 0), ...bytes(4 * KiB, 1), ...bytes(4 * KiB, 2), ...bytes(4 * KiB, 3)]);
    expect(budget.used).toBe(0);
    await spool.dispose();
    expect(spoolDirs()).toEqual([]);
  });

  test("max_buffered_total is shared: once another spool took it, the next goes to its file", async () => {
    const budget = new BufferBudget(8 * KiB);
    const first = new Spool({ memory: 8 * KiB, limit: 64 * KiB, budget, files: fs });
    const second = new Spool({ memory: 8 * KiB, limit: 64 * KiB, budget, files: fs });
    expect(await first.push(bytes(8 * KiB, 1))).toBe("held");
    expect(await second.push(bytes(1 * KiB, 2))).toBe("held");
    expect([first.usedFile, second.usedFile]).toEqual([false, true]);
    await first.dispose();
    await second.dispose();
    expect(budget.used).toBe(0);
  });

  test("without files: past its memory refused for good, past the shared budget refused for now", async () => {
    const budget = new BufferBudget(6 * KiB);
    const spool = new Spool({ memory: 4 * KiB, limit: 64 * KiB, budget });
    expect(await spool.push(bytes(4 * KiB, 1))).toBe("held");
    expect(await spool.push(bytes(1, 1))).toBe("over-limit");
    const other = new Spool({ memory: 4 * KiB, limit: 64 * KiB, budget });
    expect(await other.push(bytes(3 * KiB, 1))).toBe("no-room");
    await spool.dispose();
    expect(await other.push(bytes(3 * KiB, 1))).toBe("held");
    await other.dispose();
  });

  test("the file is written from its start again once read back: it never grows past the limit", async () => {
    const spool = new Spool({ memory: 0, limit: 16 * KiB, budget: new BufferBudget(0), files: fs });
    for (let round = 0; round < 8; round++) {
      expect(await spool.push(bytes(12 * KiB, round))).toBe("held");
      expect(await spool.push(bytes(8 * KiB, round))).toBe("over-limit");
      expect(await drain(spool)).toEqual([...bytes(12 * KiB, round)]);
    }
    await spool.dispose();
  });
});

describe("receiveBody", () => {
  test("a body received in memory stays counted in max_buffered_total until its request is over", async () => {
    const budget = new BufferBudget(1024 * KiB);
    const spool = new Spool({ memory: 64 * KiB, limit: 1024 * KiB, budget, files: fs });
    const request = new Request("http://localhost/", { method: "POST", body: bytes(10 * KiB, 7), headers: { "content-length": String(10 * KiB) } });
    await receiveBody(request, { maxBodySize: 1024 * KiB, timeoutMs: 60_000, spool });
    const { body } = await forwardedBody(request, { maxBodySize: 1024 * KiB, maxBufferedBody: 64 * KiB });
    expect(body).toEqual(bytes(10 * KiB, 7));
    // The request waits for a backend with its body in memory: that memory is taken.
    expect(budget.used).toBe(10 * KiB);
    await spool.dispose();
    expect(budget.used).toBe(0);
  });
});

/** A backend's answer: chunks the test releases one by one, and how many were taken. */
function source() {
  const waiting: (() => void)[] = [];
  let taken = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        await new Promise<void>((resolve) => waiting.push(resolve));
        taken++;
        controller.enqueue(bytes(16 * KiB, taken));
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return {
    stream,
    release: (n = 1) => {
      for (let i = 0; i < n; i++) waiting.shift()?.();
    },
    taken: () => taken,
    asked: () => waiting.length > 0,
    cancelled: () => cancelled,
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ready(); i++) await tick();
  expect(ready()).toBe(true);
}

describe("readAhead", () => {
  const options = (limit: number, sendTimeoutMs = 60_000) => {
    const budget = new BufferBudget(1024 * KiB);
    let ended = false;
    let cut = false;
    return {
      budget,
      ended: () => ended,
      cut: () => cut,
      read: {
        spool: new Spool({ memory: 32 * KiB, limit, budget, files: fs }),
        sendTimeoutMs,
        onEnd: () => (ended = true),
        onSendTimeout: () => (cut = true),
      },
    };
  };

  test("a chunk goes to a client that is reading as soon as it comes, while the backend is still at work", async () => {
    const backend = source();
    const o = options(1024 * KiB);
    const reader = readAhead(backend.stream, o.read).getReader();
    const read = reader.read();
    await until(backend.asked);
    backend.release();
    expect((await read).value).toEqual(bytes(16 * KiB, 1));
    // The next chunk is not even asked for by the client yet, and the backend has not sent it: nothing waits on it.
    expect(backend.taken()).toBe(1);
    await reader.cancel();
    expect(backend.cancelled()).toBe(true);
    expect(o.ended()).toBe(true);
  });

  test("a client that reads nothing: the backend's answer is taken whole (memory, then the file) and handed over in order", async () => {
    const backend = source();
    const o = options(1024 * KiB);
    const reader = readAhead(backend.stream, o.read).getReader();
    for (let i = 1; i <= 8; i++) {
      await until(backend.asked);
      backend.release();
    }
    await until(() => backend.taken() === 8);
    expect(spoolDirs()).toHaveLength(1);
    const got: number[] = [];
    while (got.length < 8 * 16 * KiB) got.push(...(await reader.read()).value!);
    expect(Buffer.from(got).equals(Buffer.concat(Array.from({ length: 8 }, (_, i) => bytes(16 * KiB, i + 1))))).toBe(true);
    await reader.cancel();
    await until(() => spoolDirs().length === 0);
    expect(o.budget.used).toBe(0);
  });

  test("past its bound the backend is not read on: backpressure", async () => {
    const backend = source();
    const o = options(64 * KiB);
    const reader = readAhead(backend.stream, o.read).getReader();
    for (let i = 0; i < 12; i++) {
      await tick();
      backend.release();
    }
    await tick();
    // 64 KiB held and one chunk in hand: the backend's fifth chunk is the last taken.
    expect(backend.taken()).toBe(5);
    // The client takes one: there is room again, and the backend is asked for more.
    await reader.read();
    await until(backend.asked);
    backend.release();
    await until(() => backend.taken() === 6);
    await reader.cancel();
  });

  test("a client that takes nothing for send_timeout is cut: the stream fails, the backend is stopped, the buffers go", async () => {
    const backend = source();
    const o = options(1024 * KiB, 200);
    const reader = readAhead(backend.stream, o.read).getReader();
    const first = reader.read();
    await until(backend.asked);
    backend.release();
    await first;
    await until(o.cut);
    await expect(reader.read()).rejects.toSatisfy((err) => err instanceof GatewayError && err.code === "CLIENT_TIMEOUT");
    expect(backend.cancelled()).toBe(true);
    expect(o.ended()).toBe(true);
  });
});
