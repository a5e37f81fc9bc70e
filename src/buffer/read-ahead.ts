// Reads a backend's answer ahead of the client into a Spool, so that a fast
// backend is done (its connection, process or thread free again) while a
// slow client is still reading, as nginx's proxy_buffering does. A client
// that is reading is never made to wait for the spool: each chunk goes to
// it as soon as it asks (streamed answers stay live); the spool only fills
// while the client is slower than the backend, and once it is full the
// backend waits (backpressure). A client that takes nothing for
// `sendTimeoutMs` is cut (nginx's send_timeout).

import { GatewayError } from "../errors.ts";
import type { Spool } from "./spool.ts";

export interface ReadAheadOptions {
  spool: Spool;
  sendTimeoutMs: number;
  /** Called once when the answer is over: delivered whole, failed, cut or cancelled. */
  onEnd(): void;
  /** Called when the client is cut for not reading. */
  onSendTimeout(): void;
}

/** Resolves waiters when something changed: a chunk arrived, one was taken, the end came. */
class Change {
  #waiters: (() => void)[] = [];
  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  notify(): void {
    // Called several times per chunk, mostly with nobody waiting.
    if (this.#waiters.length === 0) return;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}

export function readAhead(source: ReadableStream<Uint8Array>, options: ReadAheadOptions): ReadableStream<Uint8Array> {
  const { spool } = options;
  const reader = source.getReader();
  const change = new Change();
  /** The newest chunk, which the spool could not take (or which goes straight to a waiting client). */
  let pending: Uint8Array | undefined;
  let clientWaiting = false;
  let sourceDone = false;
  let sourceError: unknown;
  let over = false;
  /** The client is asking for a chunk (a pull is under way). */
  let asking = false;
  /** When the client last got a chunk. */
  let handedAt = 0;
  /** One timer per answer, not one per chunk: it looks again when it fires. */
  let timer: ReturnType<typeof setTimeout> | undefined;

  const end = (): void => {
    if (over) return;
    over = true;
    clearTimeout(timer);
    change.notify();
    void spool.dispose();
    options.onEnd();
  };

  /** Cuts the client once it has asked for nothing for send_timeout since its last chunk. */
  const watch = (controller: ReadableStreamDefaultController<Uint8Array>, ms: number): void => {
    timer = setTimeout(() => {
      if (over) return;
      const idle = Date.now() - handedAt;
      if (asking || idle < options.sendTimeoutMs) return watch(controller, asking ? options.sendTimeoutMs : options.sendTimeoutMs - idle);
      options.onSendTimeout();
      void reader.cancel().catch(() => undefined);
      controller.error(new GatewayError("CLIENT_TIMEOUT", `client read nothing for ${options.sendTimeoutMs} ms`));
      end();
    }, ms);
  };

  const pump = async (): Promise<void> => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (over) return;
        if (done) break;
        if (value.byteLength === 0) continue;
        // A client already asking gets the chunk as it is; otherwise it is held.
        if (!(clientWaiting && spool.size === 0) && (await spool.push(value)) === "held") {
          change.notify();
          continue;
        }
        pending = value;
        change.notify();
        // Backpressure: the next read waits until the client took this chunk or the spool took it.
        while (pending && !over) {
          await change.wait();
          if (!pending || spool.size === 0 || over) continue;
          const chunk: Uint8Array = pending;
          pending = undefined;
          if ((await spool.push(chunk)) !== "held") pending = chunk;
        }
        if (over) return;
      }
      sourceDone = true;
    } catch (err) {
      sourceError = err;
    }
    change.notify();
  };

  return new ReadableStream<Uint8Array>(
    {
      start() {
        void pump();
      },
      async pull(controller) {
        asking = true;
        for (;;) {
          if (over) return;
          let chunk: Uint8Array;
          // Held bytes first, then the newest chunk: the order they came in.
          if (spool.size > 0) {
            try {
              chunk = (await spool.shift())!;
            } catch (err) {
              if (!over) controller.error(err);
              end();
              return;
            }
            if (over) return;
          } else if (pending) {
            chunk = pending;
            pending = undefined;
          } else if (sourceError !== undefined) {
            controller.error(sourceError);
            end();
            return;
          } else if (sourceDone) {
            controller.close();
            end();
            return;
          } else {
            clientWaiting = true;
            await change.wait();
            clientWaiting = false;
            continue;
          }
          change.notify();
          controller.enqueue(chunk);
          asking = false;
          // The client has this chunk; it must ask for the next one within send_timeout.
          handedAt = Date.now();
          if (timer === undefined) watch(controller, options.sendTimeoutMs);
          return;
        }
      },
      cancel(reason) {
        void reader.cancel(reason).catch(() => undefined);
        end();
      },
    },
    { highWaterMark: 0 },
  );
}
