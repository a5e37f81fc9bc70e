// TCP connections for Workers (connect() from cloudflare:sockets) as the
// Runtime's Duplex; there are no unix sockets. Reads are pulled from the
// socket's stream, so a slow consumer pushes back on the backend; a write
// settles when the stream is ready for more.
//
// A socket belongs to the request that opened it. When that request's client
// leaves while its answer is streamed, workerd cuts the socket and drops the
// request's pending work without telling it: the answer's stream is not
// cancelled, request.signal does not fire, the socket's `closed` promise is
// never seen settling, and the request's timers stop. So the socket counts as
// closed once the heartbeat its request keeps has stopped for STALE_MS: the
// gateway's pool then takes back the connection the request never returns.

import { connect as socketConnect, type Socket } from "cloudflare:sockets";
import type { Address } from "../../src/address.ts";
import type { Duplex } from "../../src/runtime.ts";
import { withConnectTimeout } from "../common/connect-timeout.ts";

/** How often the request that opened a socket shows it is still running. */
const BEAT_MS = 1_000;
/** A heartbeat this late: the request is gone, and its socket with it (a request blocked in synchronous work for this long shows the same). */
const STALE_MS = 5_000;

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
  #beat = Date.now();
  readonly #heartbeat = setInterval(() => (this.#beat = Date.now()), BEAT_MS);

  constructor(socket: Socket) {
    this.#socket = socket;
    this.#reader = socket.readable.getReader();
    this.#writer = socket.writable.getWriter();
    void socket.closed.then(
      () => this.#end(),
      (err: Error) => {
        this.#end();
        this.#error ??= err;
      },
    );
  }

  get closed(): boolean {
    return this.#closed || Date.now() - this.#beat > STALE_MS;
  }

  #end(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
  }

  async read(): Promise<Uint8Array | null> {
    try {
      const { done, value } = await this.#reader.read();
      if (done) {
        this.#end();
        return null;
      }
      return value;
    } catch (err) {
      const failure = this.#error ?? (err as Error);
      // Closed here: the end, as the Duplex contract says.
      if (this.#closed && this.#error === undefined) return null;
      this.#end();
      throw failure;
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) throw new Error("connection closed");
    await this.#writer.ready;
    await this.#writer.write(bytes);
  }

  close(): void {
    // Stale: the socket is already cut, and closing it from another request would be I/O on that request's behalf.
    if (this.closed) return;
    this.#end();
    void this.#socket.close().catch(() => undefined);
  }
}
