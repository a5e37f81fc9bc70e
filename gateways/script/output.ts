// A running program's stdout as the CGI exchange reads it, for programs
// whose output arrives as messages (the CGI spawner's frames, a WASI
// thread's): chunks queue as they come, one reader waits, then the end or a
// failure. `onTaken` hears of every chunk handed to the reader: that is when
// the program may send more (flow control).

export class OutputQueue {
  readonly #onTaken: (bytes: number) => void;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #failure: Error | undefined;
  #reader: { resolve(chunk: Uint8Array | null): void; reject(err: Error): void } | undefined;

  constructor(onTaken: (bytes: number) => void) {
    this.#onTaken = onTaken;
  }

  /** True once the end (or a failure) is in: nothing more will be queued. */
  get ended(): boolean {
    return this.#ended;
  }

  /** A chunk of output, or null at its end. */
  push(chunk: Uint8Array | null): void {
    if (this.#ended) return;
    if (chunk === null) this.#ended = true;
    const reader = this.#reader;
    if (reader) {
      this.#reader = undefined;
      if (chunk !== null) this.#onTaken(chunk.byteLength);
      reader.resolve(chunk);
    } else if (chunk !== null) {
      this.#chunks.push(chunk);
    }
  }

  /** The output was lost midway: what is queued is dropped and every read fails. */
  fail(error: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#failure = error;
    this.#chunks = [];
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.reject(error);
  }

  /** Nobody wants the rest: what is queued is dropped, the reader gets the end. */
  drop(): void {
    this.#chunks = [];
    this.push(null);
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.#chunks.shift();
    if (chunk) {
      this.#onTaken(chunk.byteLength);
      return Promise.resolve(chunk);
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.#reader = { resolve, reject }));
  }
}
