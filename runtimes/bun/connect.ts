// TCP and unix-socket connections for Bun (Bun.connect) as the Runtime's
// Duplex. Bun hands arriving data to a callback: chunks nobody has read yet
// are queued, and past a high-water mark the socket is paused, so a slow
// consumer pushes back on the backend. Writes go out one after another; one
// Bun takes only in part waits for the socket's drain for the rest.

import type { Address } from "../../src/address.ts";
import type { Duplex } from "../../src/runtime.ts";
import { ChunkQueue } from "../common/chunk-queue.ts";
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
  readonly #received = new ChunkQueue(READ_HIGH_WATER, () => this.#socket?.resume());
  #writes: Promise<void> = Promise.resolve();
  #released = false;
  /** The rest of a write Bun did not take, and who waits for it. */
  #pending: { bytes: Uint8Array; resolve(): void; reject(err: Error): void } | undefined;

  readonly handlers = {
    data: (_socket: BunSocket, chunk: Uint8Array) => {
      if (!this.#received.push(chunk)) this.#socket?.pause();
    },
    drain: () => this.#flush(),
    end: () => this.#finish(),
    close: () => this.#finish(),
    error: (_socket: BunSocket, err: Error) => this.#finish(err),
  };

  attach(socket: BunSocket): void {
    this.#socket = socket;
    socket.setNoDelay?.(true);
  }

  #finish(error?: Error): void {
    this.#received.end(error);
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(this.#received.failure ?? new Error("connection closed"));
  }

  get closed(): boolean {
    return this.#received.ended;
  }

  read(): Promise<Uint8Array | null> {
    return this.#received.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    // One write at a time (several requests may share a multiplexed connection): the next waits for this one.
    const write = this.#writes.then(() => this.#send(bytes));
    this.#writes = write.catch(() => undefined);
    return write;
  }

  #send(bytes: Uint8Array): Promise<void> {
    if (this.closed || !this.#socket) return Promise.reject(this.#received.failure ?? new Error("connection closed"));
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

  /** Ends reading and lets go of the socket, whoever ended the connection first. */
  close(): void {
    if (this.#released) return;
    this.#released = true;
    this.#socket?.terminate();
    this.#finish();
  }
}
