// TCP connections for Workers (connect() from cloudflare:sockets) as the
// Runtime's Duplex; there are no unix sockets. Reads are pulled from the
// socket's stream, so a slow consumer pushes back on the backend; a write
// settles when the stream is ready for more.

import { connect as socketConnect, type Socket } from "cloudflare:sockets";
import type { Address } from "../../src/address.ts";
import type { Duplex } from "../../src/runtime.ts";
import { withConnectTimeout } from "../common/connect-timeout.ts";

export async function connect(addr: Address, options?: { timeoutMs?: number }): Promise<Duplex> {
  if (addr.kind !== "tcp") throw new Error("the workerd runtime cannot connect to unix sockets");
  const socket = socketConnect({ hostname: addr.host, port: addr.port }, { secureTransport: "off", allowHalfOpen: false });
  try {
    // A late connection needs no closing of its own: the catch below closes the socket either way.
    await withConnectTimeout(socket.opened, options?.timeoutMs, () => undefined);
  } catch (err) {
    // Abandoned (or refused): the socket is let go of at once.
    void socket.close().catch(() => undefined);
    throw err;
  }
  return new SocketDuplex(socket);
}

class SocketDuplex implements Duplex {
  readonly #socket: Socket;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #closed = false;
  /** How the connection failed, if it did: a reset is not a clean end. */
  #error: Error | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    this.#reader = socket.readable.getReader();
    this.#writer = socket.writable.getWriter();
    void socket.closed.then(
      () => (this.#closed = true),
      (err: Error) => {
        this.#closed = true;
        this.#error ??= err;
      },
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  async read(): Promise<Uint8Array | null> {
    try {
      const { done, value } = await this.#reader.read();
      if (done) {
        this.#closed = true;
        return null;
      }
      return value;
    } catch (err) {
      const failure = this.#error ?? (err as Error);
      // Closed here: the end, as the Duplex contract says.
      if (this.#closed && this.#error === undefined) return null;
      this.#closed = true;
      throw failure;
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) throw new Error("connection closed");
    await this.#writer.ready;
    await this.#writer.write(bytes);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.#socket.close().catch(() => undefined);
  }
}
