// TCP and unix-socket connections for Deno (Deno.connect) as the Runtime's
// Duplex. One read is always under way, so a peer's close is seen even while
// nobody reads (a pool must not hand out a connection the backend closed);
// what arrives unread is queued, and past a high-water mark no further read
// is made, so a slow consumer pushes back on the backend. Writes go out one
// after another (several requests may share a multiplexed connection).

import type { Address } from "../../src/address.ts";
import type { Duplex } from "../../src/runtime.ts";
import { ChunkQueue } from "../common/chunk-queue.ts";
import { connectTimeoutError } from "../common/connect-timeout.ts";
import { Deno, type DenoConn } from "./api.ts";

const READ_SIZE = 64 * 1024;
const READ_HIGH_WATER = 64 * 1024;
/** A read of fewer bytes is copied out of its buffer, so a queue of small chunks does not hold 64 KiB each. */
const SMALL_READ = 16 * 1024;

export async function connect(addr: Address, options?: { timeoutMs?: number }): Promise<Duplex> {
  const signal = options?.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const target = addr.kind === "unix" ? { transport: "unix" as const, path: addr.path } : { hostname: addr.host, port: addr.port };
  try {
    // Deno gives the attempt up itself when the signal aborts.
    return new ConnDuplex(await Deno.connect({ ...target, ...(signal ? { signal } : {}) }));
  } catch (err) {
    if (!signal?.aborted) throw err;
    throw connectTimeoutError(options!.timeoutMs!);
  }
}

class ConnDuplex implements Duplex {
  readonly #conn: DenoConn;
  readonly #received = new ChunkQueue(READ_HIGH_WATER, () => this.#readAhead());
  #reading = false;
  /** The last read's buffer, when its bytes were copied out: the next read reuses it. */
  #spare: Uint8Array | undefined;
  #writes: Promise<void> = Promise.resolve();
  #released = false;

  constructor(conn: DenoConn) {
    this.#conn = conn;
    conn.setNoDelay?.(true);
    this.#readAhead();
  }

  get closed(): boolean {
    return this.#received.ended;
  }

  /** Reads the next chunk from the connection unless enough waits unread. */
  #readAhead(): void {
    if (this.#reading || this.#received.ended || this.#received.full) return;
    this.#reading = true;
    const buffer = this.#spare ?? new Uint8Array(READ_SIZE);
    this.#spare = undefined;
    this.#conn.read(buffer).then(
      (n) => {
        this.#reading = false;
        if (n === null) return this.#received.end();
        let chunk = buffer.subarray(0, n);
        if (n < SMALL_READ) {
          chunk = buffer.slice(0, n);
          this.#spare = buffer;
        }
        if (this.#received.push(chunk)) this.#readAhead();
      },
      (err: Error) => {
        this.#reading = false;
        // Closed here meanwhile: the end, as the Duplex contract says, not a failure.
        this.#received.end(this.#released ? undefined : err);
      },
    );
  }

  read(): Promise<Uint8Array | null> {
    return this.#received.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    const write = this.#writes.then(async () => {
      if (this.closed) throw this.#received.failure ?? new Error("connection closed");
      for (let offset = 0; offset < bytes.byteLength; ) offset += await this.#conn.write(bytes.subarray(offset));
    });
    // The next write waits for this one, whatever became of it.
    this.#writes = write.catch(() => undefined);
    return write;
  }

  /** Ends reading and lets go of the connection, whoever ended it first: Deno keeps it until closed here. */
  close(): void {
    if (this.#released) return;
    this.#released = true;
    this.#received.end();
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
  }
}
