// A client for the tests of answers without end: it opens a GET and reads
// like a slow client (short breaks every 16 MiB), can pause once at a given
// point while the test looks at the server, and drops the connection after
// a given number of bytes.

import { get as httpGet, type ClientRequest, type IncomingMessage } from "node:http";
import { expect } from "vitest";

const MiB = 1024 * 1024;

/** A GET whose answer head has arrived; the body is the test's to read (or to drop). */
export function open(url: string): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false }, (res) => {
      res.on("error", () => undefined); // a test that drops the connection expects it to break
      resolve({ req, res });
    });
    req.on("error", reject);
  });
}

/** Reads `url` until `stopAt` bytes, pausing once at `pauseAt` for `onPause`, then drops the connection. */
export async function download(url: string, stopAt: number, pauseAt?: number, onPause?: (received: number) => Promise<void>): Promise<number> {
  const { req, res } = await open(url);
  expect(res.statusCode).toBe(200);
  return new Promise<number>((resolve, reject) => {
    let received = 0;
    let paused = false;
    let nextBreath = 16 * MiB;
    res.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received >= stopAt) {
        req.destroy();
        resolve(received);
        return;
      }
      if (pauseAt !== undefined && onPause && !paused && received >= pauseAt) {
        paused = true;
        res.pause();
        onPause(received).then(() => res.resume(), reject);
      } else if (received >= nextBreath) {
        // A slow reader: short breaks every 16 MiB.
        nextBreath += 16 * MiB;
        res.pause();
        setTimeout(() => res.resume(), 20);
      }
    });
    res.on("aborted", () => reject(new Error(`aborted after ${received} bytes`)));
  });
}
