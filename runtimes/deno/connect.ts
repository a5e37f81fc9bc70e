// TCP and unix-socket connections for Deno (Deno.connect) as the Runtime's
// Duplex. Reading is pulled by the consumer (conn.read), so a slow consumer
// pushes back on the backend with no queue of its own.

import type { Address } from "../../src/address.ts";
import type { Duplex } from "../../src/runtime.ts";
import { withConnectTimeout } from "../common/connect-timeout.ts";
import { Deno, type DenoConn } from "./api.ts";

const READ_SIZE = 64 * 1024;

export async function connect(addr: Address, options?: { timeoutMs?: number }): Promise<Duplex> {
  const connecting =
    addr.kind === "unix" ? Deno.connect({ transport: "unix", path: addr.path }) : Deno.connect({ hostname: addr.host, port: addr.port });
  return new ConnDuplex(await withConnectTimeout(connecting, options?.timeoutMs, (conn) => conn.close()));
}

class ConnDuplex implements Duplex {
  readonly #conn: DenoConn;
  #closed = false;

  constructor(conn: DenoConn) {
    this.#conn = conn;
    conn.setNoDelay?.(true);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    const buffer = new Uint8Array(READ_SIZE);
    let n: number | null;
    try {
      n = await this.#conn.read(buffer);
    } catch (err) {
      // Closed here meanwhile: the read ends quietly, as the Duplex contract says.
      if (this.#closed) return null;
      this.#closed = true;
      throw err;
    }
    if (n === null) {
      this.#closed = true;
      return null;
    }
    return buffer.subarray(0, n);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) throw new Error("connection closed");
    try {
      for (let offset = 0; offset < bytes.byteLength; ) offset += await this.#conn.write(bytes.subarray(offset));
    } catch (err) {
      this.#closed = true;
      throw err;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // closed by the peer already
    }
  }
}
