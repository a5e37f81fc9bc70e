// What a connection has received and nobody has read yet, for the runtimes'
// Duplex (src/runtime.ts): chunks go straight to a waiting reader or queue up;
// past the high-water mark the source is told to stop (pause the socket, make
// no further read), and told again once the reader has taken enough.

export class ChunkQueue {
  readonly #highWater: number;
  readonly #onRoom: () => void;
  readonly #chunks: Uint8Array[] = [];
  #bytes = 0;
  #ended = false;
  #error: Error | undefined;
  #reader: { resolve(chunk: Uint8Array | null): void; reject(err: Error): void } | undefined;

  /** `onRoom` is called when the queue falls below `highWater` again after push said it was full. */
  constructor(highWater: number, onRoom: () => void) {
    this.#highWater = highWater;
    this.#onRoom = onRoom;
  }

  /** The end (or a failure) is in: nothing more comes. */
  get ended(): boolean {
    return this.#ended;
  }

  /** What ended the connection, if it failed. */
  get failure(): Error | undefined {
    return this.#error;
  }

  /** At or over the high-water mark: the source should wait. */
  get full(): boolean {
    return this.#bytes >= this.#highWater;
  }

  /** Hands `chunk` to the waiting reader or queues it; false when the queue is now full. */
  push(chunk: Uint8Array): boolean {
    const reader = this.#reader;
    if (reader) {
      this.#reader = undefined;
      reader.resolve(chunk);
      return true;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.byteLength;
    return !this.full;
  }

  /** No more chunks: the reader gets null once the queue is empty, or `error` at once. */
  end(error?: Error): void {
    if (error) this.#error ??= error;
    this.#ended = true;
    const reader = this.#reader;
    if (!reader) return;
    this.#reader = undefined;
    if (this.#error) reader.reject(this.#error);
    else reader.resolve(null);
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.#chunks.shift();
    if (chunk) {
      const wasFull = this.full;
      this.#bytes -= chunk.byteLength;
      if (wasFull && !this.full) this.#onRoom();
      return Promise.resolve(chunk);
    }
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.#reader = { resolve, reject }));
  }
}
