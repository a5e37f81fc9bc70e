// The chunked transfer coding of a backend's response body (RFC 9112 §7.1),
// decoded strictly: hex sizes (bounded), extensions skipped, CRLF after each
// size and each chunk's data (a bare LF is refused, §2.2), trailer fields
// read and dropped (they are not passed on, §7.1.2), all within a bound.
// What follows the last chunk's CRLF is the next response's (or garbage):
// `rest` says whether there was any, so the connection is reused only when
// the body ended cleanly at the end of what was read.

import { malformed } from "./response-head.ts";

const CR = 13;
const LF = 10;
const SEMICOLON = 59;
/** 13 hex digits: under 2^53, a size that stays exact in a double. */
const MAX_SIZE_DIGITS = 13;

type State = "size" | "ext" | "size-lf" | "data" | "data-cr" | "data-lf" | "trailer" | "trailer-lf" | "done";

export class ChunkedDecoder {
  readonly #maxMeta: number;
  #state: State = "size";
  #size = 0;
  #digits = 0;
  #remaining = 0;
  /** Bytes of the current size line (with its extensions), or of the trailer section: bounded by maxMeta. */
  #meta = 0;
  /** Bytes of the trailer line being read. */
  #lineBytes = 0;
  #rest: Uint8Array = new Uint8Array(0);

  /** `maxMeta`: the most bytes of one chunk-size line, extensions included, and of the trailer section. */
  constructor(maxMeta: number) {
    this.#maxMeta = maxMeta;
  }

  /** The body ended with its last chunk and trailer section. */
  get done(): boolean {
    return this.#state === "done";
  }

  /** Bytes that followed the end of the body (empty when none). */
  get rest(): Uint8Array {
    return this.#rest;
  }

  /** Decodes `chunk`: the data bytes in it, as subarrays of it. Throws BACKEND_MALFORMED on a coding error. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let i = 0;
    const n = chunk.byteLength;
    while (i < n && this.#state !== "done") {
      if (this.#state === "data") {
        const take = Math.min(this.#remaining, n - i);
        out.push(chunk.subarray(i, i + take));
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = "data-cr";
        continue;
      }
      const byte = chunk[i++]!;
      if (++this.#meta > this.#maxMeta) throw malformed(`a chunk-size line or the trailer section over ${this.#maxMeta} bytes`);
      this.#step(byte);
    }
    if (this.#state === "done") this.#rest = chunk.subarray(i);
    return out;
  }

  #step(byte: number): void {
    switch (this.#state) {
      case "size": {
        const digit = hexValue(byte);
        if (digit >= 0) {
          if (++this.#digits > MAX_SIZE_DIGITS && this.#size > 0) throw malformed("chunk size too large");
          this.#size = this.#size * 16 + digit;
          return;
        }
        if (this.#digits === 0) throw malformed("chunk size without hex digits");
        // RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ).
        if (byte === SEMICOLON || byte === 32 || byte === 9) this.#state = "ext";
        else if (byte === CR) this.#state = "size-lf";
        else throw malformed("bad byte after a chunk size");
        return;
      }
      case "ext":
        if (byte === CR) this.#state = "size-lf";
        else if (byte === LF || byte === 0) throw malformed("a bare LF or NUL in a chunk extension");
        return;
      case "size-lf":
        if (byte !== LF) throw malformed("chunk size line not ended by CRLF");
        this.#meta = 0;
        if (this.#size === 0) {
          this.#state = "trailer";
          this.#lineBytes = 0;
        } else {
          this.#remaining = this.#size;
          this.#state = "data";
        }
        this.#size = 0;
        this.#digits = 0;
        return;
      case "data-cr":
        if (byte !== CR) throw malformed("chunk data not followed by CRLF");
        this.#state = "data-lf";
        return;
      case "data-lf":
        if (byte !== LF) throw malformed("chunk data not followed by CRLF");
        this.#meta = 0;
        this.#state = "size";
        return;
      case "trailer":
        if (byte === CR) this.#state = "trailer-lf";
        else if (byte === LF || byte === 0) throw malformed("a bare LF or NUL in the trailer section");
        else this.#lineBytes++;
        return;
      case "trailer-lf":
        if (byte !== LF) throw malformed("trailer line not ended by CRLF");
        // An empty line ends the trailer section, and the body.
        if (this.#lineBytes === 0) this.#state = "done";
        else {
          this.#lineBytes = 0;
          this.#state = "trailer";
        }
        return;
    }
  }
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 65 && byte <= 70) return byte - 55;
  if (byte >= 97 && byte <= 102) return byte - 87;
  return -1;
}
