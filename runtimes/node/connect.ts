// TCP and unix-socket connections for Node as the Runtime's Duplex. Chunks
// that arrive while nobody reads are queued; past a high-water mark the socket
// is paused, so a slow consumer pushes back on the backend.

import { connect as netConnect, type Socket } from "node:net";
import type { Address } from "../../src/address.ts";
import type { Duplex } from "../../src/runtime.ts";
import { ChunkQueue } from "../common/chunk-queue.ts";
import { connectTimeoutError } from "../common/connect-timeout.ts";

const READ_HIGH_WATER = 64 * 1024;
const WRITTEN: Promise<void> = Promise.resolve();

export function connect(addr: Address, options?: { timeoutMs?: number }): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket =
      addr.kind === "unix" ? netConnect({ path: addr.path }) : netConnect({ host: addr.host, port: addr.port });
    socket.setNoDelay(true);
    const timeoutMs = options?.timeoutMs;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            socket.destroy();
            reject(connectTimeoutError(timeoutMs));
          }, timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      resolve(new SocketDuplex(socket));
    });
  });
}

class SocketDuplex implements Duplex {
  readonly #socket: Socket;
  readonly #received: ChunkQueue;

  constructor(socket: Socket) {
    this.#socket = socket;
    this.#received = new ChunkQueue(READ_HIGH_WATER, () => socket.resume());
    socket.on("data", (chunk: Buffer) => {
      if (!this.#received.push(chunk)) socket.pause();
    });
    socket.on("end", () => this.#received.end());
    socket.on("close", () => this.#received.end());
    socket.on("error", (err) => this.#received.end(err));
  }

  get closed(): boolean {
    return this.#received.ended || this.#socket.destroyed;
  }

  read(): Promise<Uint8Array | null> {
    return this.#received.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return Promise.reject(this.#received.failure ?? new Error("connection closed"));
    if (socket.write(bytes)) return WRITTEN;
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        socket.off("drain", onDrain);
        socket.off("close", onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(this.#received.failure ?? new Error("connection closed"));
      socket.once("drain", onDrain);
      socket.once("close", onClose);
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}
