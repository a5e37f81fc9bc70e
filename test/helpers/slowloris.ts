// A slowloris crowd (R. Hansen, 2009): connections that each send a request
// head one field at a time and never end it, and uploads that send a body a
// byte at a time. Each holds a connection of the server's; a gateway that
// took a backend worker before a request was whole would lose its workers to
// them too.

import { connect, type Socket } from "node:net";
import { slowUpload, type SlowClient } from "./slow-client.ts";

export interface SlowCrowd {
  /** Connections of the crowd the server has not closed yet. */
  open(): number;
  /** Closes every connection of the crowd. */
  stop(): void;
}

const OPEN_BATCH = 100; // below Node's listen backlog (511), so no SYN is dropped and retried a second later

/**
 * Opens `heads` connections that send a GET of `path` a header field every
 * `everyMs` without ever ending the head, and `uploads` POSTs to `path` that
 * announce `uploadLength` bytes and send one every `everyMs`; resolves once
 * all are connected.
 */
export async function slowCrowd(port: number, o: { heads: number; uploads: number; path: string; uploadLength: number; everyMs: number }): Promise<SlowCrowd> {
  const sockets = new Set<Socket>();
  const uploads: SlowClient[] = [];
  let open = 0;
  let fields = 0;
  const timer = setInterval(() => {
    fields++;
    for (const s of sockets) s.write(`X-Slow-${fields}: ${"a".repeat(16)}\r\n`);
  }, o.everyMs);
  for (let started = 0; started < o.heads; started += OPEN_BATCH) {
    const batch = Array.from({ length: Math.min(OPEN_BATCH, o.heads - started) }, () =>
      new Promise<void>((resolve) => {
        const s = connect({ port, host: "127.0.0.1" }, () => {
          open++;
          sockets.add(s);
          s.write(`GET ${o.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
          resolve();
        });
        s.on("error", () => resolve());
        s.on("close", () => {
          if (sockets.delete(s)) open--;
        });
        s.resume();
      }),
    );
    await Promise.all(batch);
  }
  for (let i = 0; i < o.uploads; i++) {
    const u = slowUpload(port, o.path, o.uploadLength, o.everyMs);
    open++;
    void u.closed.then(() => open--);
    uploads.push(u);
  }
  return {
    open: () => open,
    stop() {
      clearInterval(timer);
      for (const s of sockets) s.destroy();
      for (const u of uploads) u.stop();
    },
  };
}
