// TCP and unix-socket connections for Node as the Runtime's Duplex. Chunks
// that arrive while nobody reads are queued; past a high-water mark the socket
// is paused, so a slow consumer pushes back on the backend.

import { connect as netConnect, type Socket } from "node:net";
import type { Address } from "../../src/address.ts";
import type { Duplex } from "../../src/runtime.ts";

const READ_HIGH_WATER = 64 * 1024;
const WRITTEN: Promise<void> = Promise.resolve();

export function connect(addr: Address, options?: { timeoutMs?: number }): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket =
      addr.kind === "unix" ? netConnect({ path: addr.path }) : netConnect({ host: addr.host, port: addr.port });
    socket.setNoDelay(true);
    const timer =
      options?.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            socket.destroy();
            const err = new Error(`connect timed out after ${options.timeoutMs} ms`);
            err.name = "TimeoutError";
            reject(err);
          }, options.timeoutMs);
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
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | undefined;
  #reader: { resolve(chunk: Uint8Array | null): void; reject(err: Error): void } | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      const reader = this.#reader;
      if (reader) {
        this.#reader = undefined;
        reader.resolve(chunk);
        return;
      }
      this.#queue.push(chunk);
      this.#queued += chunk.length;
      if (this.#queued >= READ_HIGH_WATER) socket.pause();
    });
    const end = () => {
      this.#ended = true;
      this.#settle();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", (err) => {
      this.#error ??= err;
      this.#settle();
    });
  }

  #settle(): void {
    const reader = this.#reader;
    if (!reader) return;
    this.#reader = undefined;
    if (this.#error) reader.reject(this.#error);
    else reader.resolve(null);
  }

  get closed(): boolean {
    return this.#ended || this.#error !== undefined || this.#socket.destroyed;
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.#queue.shift();
    if (chunk) {
      this.#queued -= chunk.length;
      if (this.#queued < READ_HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
      return Promise.resolve(chunk);
    }
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return Promise.reject(this.#error ?? new Error("connection closed"));
    if (socket.write(bytes)) return WRITTEN;
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        socket.off("drain", onDrain);
        socket.off("close", onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(this.#error ?? new Error("connection closed"));
      socket.once("drain", onDrain);
      socket.once("close", onClose);
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}
