// TCP and unix-socket connections for Bun (Bun.connect) as the Runtime's
// Duplex. Bun hands arriving data to a callback: chunks nobody has read yet
// are queued, and past a high-water mark the socket is paused, so a slow
// consumer pushes back on the backend. Writes go out one after another; one
// Bun takes only in part waits for the socket's drain for the rest.

import type { Address } from "../../src/address.ts";
import type { Duplex } from "../../src/runtime.ts";
import { withConnectTimeout } from "../common/connect-timeout.ts";
import { Bun, type BunSocket } from "./api.ts";

const READ_HIGH_WATER = 64 * 1024;

export function connect(addr: Address, options?: { timeoutMs?: number }): Promise<Duplex> {
  const duplex = new SocketDuplex();
  const target = addr.kind === "unix" ? { unix: addr.path } : { hostname: addr.host, port: addr.port };
  const connecting = Bun.connect({ ...target, socket: duplex.handlers }).then((socket) => {
    duplex.attach(socket);
    return duplex as Duplex;
  });
  return withConnectTimeout(connecting, options?.timeoutMs, (late) => late.close());
}

class SocketDuplex implements Duplex {
  #socket: BunSocket | undefined;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #paused = false;
  #ended = false;
  #error: Error | undefined;
  #reader: { resolve(chunk: Uint8Array | null): void; reject(err: Error): void } | undefined;
  #writes: Promise<void> = Promise.resolve();
  /** The rest of a write Bun did not take, and who waits for it. */
  #pending: { bytes: Uint8Array; resolve(): void; reject(err: Error): void } | undefined;

  readonly handlers = {
    data: (_socket: BunSocket, chunk: Uint8Array) => {
      const reader = this.#reader;
      if (reader) {
        this.#reader = undefined;
        reader.resolve(chunk);
        return;
      }
      this.#queue.push(chunk);
      this.#queued += chunk.byteLength;
      if (this.#queued >= READ_HIGH_WATER && !this.#paused) {
        this.#paused = true;
        this.#socket?.pause();
      }
    },
    drain: () => this.#flush(),
    end: () => this.#finish(),
    close: () => this.#finish(),
    error: (_socket: BunSocket, err: Error) => {
      this.#error ??= err;
      this.#finish();
    },
  };

  attach(socket: BunSocket): void {
    this.#socket = socket;
    socket.setNoDelay?.(true);
  }

  #finish(): void {
    this.#ended = true;
    const reader = this.#reader;
    this.#reader = undefined;
    if (reader) {
      if (this.#error) reader.reject(this.#error);
      else reader.resolve(null);
    }
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(this.#error ?? new Error("connection closed"));
  }

  get closed(): boolean {
    return this.#ended || this.#error !== undefined;
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.#queue.shift();
    if (chunk) {
      this.#queued -= chunk.byteLength;
      if (this.#paused && this.#queued < READ_HIGH_WATER) {
        this.#paused = false;
        this.#socket?.resume();
      }
      return Promise.resolve(chunk);
    }
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.#reader = { resolve, reject }));
  }

  write(bytes: Uint8Array): Promise<void> {
    // One write at a time (several requests may share a multiplexed connection): the next waits for this one.
    const write = this.#writes.then(() => this.#send(bytes));
    this.#writes = write.catch(() => undefined);
    return write;
  }

  #send(bytes: Uint8Array): Promise<void> {
    if (this.closed || !this.#socket) return Promise.reject(this.#error ?? new Error("connection closed"));
    const written = this.#socket.write(bytes);
    if (written >= bytes.byteLength) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#pending = { bytes: bytes.subarray(Math.max(written, 0)), resolve, reject };
    });
  }

  #flush(): void {
    const pending = this.#pending;
    if (!pending || !this.#socket) return;
    const written = this.#socket.write(pending.bytes);
    if (written >= pending.bytes.byteLength) {
      this.#pending = undefined;
      pending.resolve();
    } else {
      pending.bytes = pending.bytes.subarray(Math.max(written, 0));
    }
  }

  close(): void {
    if (this.#ended) return;
    this.#socket?.terminate();
    this.#finish();
  }
}
