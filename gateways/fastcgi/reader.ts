// Reads FastCGI records out of a byte stream chunked anywhere (FastCGI spec §3.3).

import { FastCgiProtocolError } from "./errors.ts";
import { FCGI_VERSION_1, HEADER_LENGTH } from "./record.ts";

export interface FcgiRecord {
  type: number;
  requestId: number;
  /**
   * The record's content without padding. A view into the pushed chunk when the
   * record lies within one chunk: copy it to keep it past the chunk's life.
   */
  content: Uint8Array;
}

const HEADER = 0;
const CONTENT = 1;
const PADDING = 2;

/** A push state machine: header, content, padding, per record. */
export class RecordReader {
  #state: typeof HEADER | typeof CONTENT | typeof PADDING = HEADER;
  #header = new Uint8Array(HEADER_LENGTH);
  #headerFill = 0;
  #type = 0;
  #requestId = 0;
  #contentLength = 0;
  #paddingLength = 0;
  #content: Uint8Array | undefined; // set only while a record's content spans chunks
  #contentFill = 0;

  /** True in the middle of a record: a partial header, content or padding. */
  get pending(): boolean {
    return this.#state !== HEADER || this.#headerFill > 0;
  }

  /** Feeds bytes; calls onRecord for each record as soon as its content is complete. */
  push(chunk: Uint8Array, onRecord: (record: FcgiRecord) => void): void {
    let at = 0;
    while (at < chunk.length) {
      const left = chunk.length - at;
      if (this.#state === HEADER) {
        if (this.#headerFill === 0 && left >= HEADER_LENGTH) {
          this.#parseHeader(chunk, at);
          at += HEADER_LENGTH;
        } else {
          const take = Math.min(HEADER_LENGTH - this.#headerFill, left);
          this.#header.set(chunk.subarray(at, at + take), this.#headerFill);
          this.#headerFill += take;
          at += take;
          if (this.#headerFill < HEADER_LENGTH) return;
          this.#headerFill = 0;
          this.#parseHeader(this.#header, 0);
        }
        if (this.#contentLength === 0) this.#emit(new Uint8Array(0), onRecord);
      } else if (this.#state === CONTENT) {
        if (this.#content === undefined && left >= this.#contentLength) {
          const content = chunk.subarray(at, at + this.#contentLength);
          at += this.#contentLength;
          this.#emit(content, onRecord);
        } else {
          this.#content ??= new Uint8Array(this.#contentLength);
          const take = Math.min(this.#contentLength - this.#contentFill, left);
          this.#content.set(chunk.subarray(at, at + take), this.#contentFill);
          this.#contentFill += take;
          at += take;
          if (this.#contentFill < this.#contentLength) return;
          const content = this.#content;
          this.#content = undefined;
          this.#contentFill = 0;
          this.#emit(content, onRecord);
        }
      } else {
        const skip = Math.min(this.#paddingLength, left); // §3.3: padding is ignored
        this.#paddingLength -= skip;
        at += skip;
        if (this.#paddingLength === 0) this.#state = HEADER;
      }
    }
  }

  /** Declares the stream over; throws FastCgiProtocolError if it stopped inside a record. */
  end(): void {
    if (this.pending) {
      throw new FastCgiProtocolError("FastCGI stream ended inside a record (FastCGI spec §3.3)");
    }
  }

  #parseHeader(bytes: Uint8Array, at: number): void {
    if (bytes[at] !== FCGI_VERSION_1) {
      throw new FastCgiProtocolError(`FastCGI record version ${bytes[at]}, not 1 (FastCGI spec §3.3, §8)`);
    }
    this.#type = bytes[at + 1];
    this.#requestId = (bytes[at + 2] << 8) | bytes[at + 3];
    this.#contentLength = (bytes[at + 4] << 8) | bytes[at + 5];
    this.#paddingLength = bytes[at + 6];
    this.#state = CONTENT;
  }

  // The state moves on before onRecord runs, so a throwing callback leaves the reader consistent.
  #emit(content: Uint8Array, onRecord: (record: FcgiRecord) => void): void {
    this.#state = this.#paddingLength === 0 ? HEADER : PADDING;
    onRecord({ type: this.#type, requestId: this.#requestId, content });
  }
}
