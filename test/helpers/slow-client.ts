// Clients that are slow on purpose, over raw TCP, for the tests that a slow
// client holds no backend: one that sends its body when the test says (or a
// byte at a time), one that reads nothing of its answer.

import { connect, type Socket } from "node:net";

export interface SlowClient {
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
  /** The bytes the client received so far. */
  received(): Buffer;
  stop(): void;
}

export interface Upload extends SlowClient {
  /** Sends more of the body. */
  send(bytes: Uint8Array | string): void;
}

function open(port: number, head: string): SlowClient & { socket: Socket } {
  const chunks: Buffer[] = [];
  const socket = connect({ port, host: "127.0.0.1" });
  // Queued before anything `send` adds: the head goes out first.
  socket.write(head);
  socket.on("data", (d: Buffer) => chunks.push(d));
  socket.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { socket, closed, received: () => Buffer.concat(chunks), stop: () => socket.destroy() };
}

/**
 * A POST to `path` whose body goes out when `send` is called: `length`
 * bytes, or chunked (RFC 9112 §7.1), each `send` one chunk.
 */
export function upload(port: number, path: string, length: number | "chunked"): Upload {
  const framing = length === "chunked" ? "Transfer-Encoding: chunked" : `Content-Length: ${length}`;
  const { socket, ...client } = open(port, `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n${framing}\r\n\r\n`);
  const send = (bytes: Uint8Array | string): void => {
    if (length !== "chunked") socket.write(bytes);
    else socket.write(`${Buffer.byteLength(bytes).toString(16)}\r\n${Buffer.from(bytes).toString("latin1")}\r\n`, "latin1");
  };
  return { ...client, send };
}

/** A POST of `length` bytes (or a chunked body without end) to `path` that sends one byte every `everyMs`. */
export function slowUpload(port: number, path: string, length: number | "chunked", everyMs: number): SlowClient {
  const client = upload(port, path, length);
  let sent = 0;
  const timer = setInterval(() => {
    if (length === "chunked" || sent++ < length) client.send("a");
  }, everyMs);
  void client.closed.then(() => clearInterval(timer));
  return {
    ...client,
    stop() {
      clearInterval(timer);
      client.stop();
    },
  };
}

/**
 * A GET of `path` whose answer is not read until `resume` (only what the
 * kernel takes in arrives meanwhile). A paused socket does not see the
 * server close it either: `closed` can only settle after `resume`.
 */
export function stalledReader(port: number, path: string): SlowClient & { resume(): void } {
  const { socket, ...client } = open(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  socket.pause();
  return { ...client, resume: () => void socket.resume() };
}
