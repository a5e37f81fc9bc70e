// A backend's HTTP/1.1 answer as the stream exchange (src/backend/stream-exchange.ts)
// reads it: the head (response-head.ts), interim 1xx answers skipped (RFC 9110
// §15.2: 100 Continue, 103 Early Hints are not passed on), and the body's end
// by its framing (framing.ts): Content-Length, chunked (chunked.ts), nothing,
// or the backend's close. The connection is kept for the next request only
// when the body ended exactly where the bytes read ended.

import type { BodyDecoder } from "../../src/backend/stream-exchange.ts";
import type { CgiHead, HeadParser } from "../../src/cgi/response.ts";
import { ChunkedDecoder } from "./chunked.ts";
import { responseFraming, type BodyFraming } from "./framing.ts";
import { malformed, ResponseHeadParser, type ResponseHead } from "./response-head.ts";

/** Interim answers skipped before the final one; more is a backend stuck in a loop. */
const MAX_INTERIM = 16;

/** The head parser of one request's answer; `decoder` then frames its body. */
export class HttpAnswer implements HeadParser {
  readonly #maxBytes: number;
  readonly #isHead: boolean;
  #parser: ResponseHeadParser;
  #interim = 0;
  #head: ResponseHead | undefined;

  constructor(maxBytes: number, isHead: boolean) {
    this.#maxBytes = maxBytes;
    this.#isHead = isHead;
    this.#parser = new ResponseHeadParser(maxBytes);
  }

  push(chunk: Uint8Array): CgiHead | null {
    for (let input = chunk; ; ) {
      const head = this.#parser.push(input);
      if (head === null) return null;
      if (head.status >= 200) return this.#final(head);
      // 101 answers an Upgrade, which this request did not carry (its Upgrade was dropped).
      if (head.status === 101) throw malformed("101 Switching Protocols to a request without Upgrade");
      if (++this.#interim > MAX_INTERIM) throw malformed(`over ${MAX_INTERIM} interim (1xx) answers`);
      input = this.#parser.takeRest();
      this.#parser = new ResponseHeadParser(this.#maxBytes);
      if (input.byteLength === 0) return null;
    }
  }

  takeRest(): Uint8Array {
    return this.#parser.takeRest();
  }

  finish(): void {
    if (this.#head === undefined) throw malformed("connection closed before the head was complete");
  }

  /** The body's decoder; undefined when the backend's close ends it. */
  decoder(): BodyDecoder | undefined {
    const framing = responseFraming(this.#head!, this.#isHead);
    return framing.body.kind === "close" ? undefined : new FramedBody(framing.body, framing.reusable, this.#maxBytes);
  }

  #final(head: ResponseHead): CgiHead {
    this.#head = head;
    // Proxy-* fields are for a proxy (RFC 9110 §11.7.1 Proxy-Authenticate is this hop's), never the client's.
    const headers = head.headers.filter(([name]) => !name.toLowerCase().startsWith("proxy-"));
    return { status: head.status, statusText: head.statusText, headers, kind: "document" };
  }
}

/** A body framed by a length, the chunked coding, or nothing at all. */
class FramedBody implements BodyDecoder {
  readonly #keep: boolean;
  readonly #chunked: ChunkedDecoder | undefined;
  #remaining: number;
  /** Bytes came after the body's end: the next answer's, or a backend splitting its answer. */
  #extra = false;

  constructor(framing: Exclude<BodyFraming, { kind: "close" }>, keep: boolean, maxMeta: number) {
    this.#keep = keep;
    this.#remaining = framing.kind === "length" ? framing.length : 0;
    this.#chunked = framing.kind === "chunked" ? new ChunkedDecoder(maxMeta) : undefined;
  }

  get done(): boolean {
    return this.#chunked === undefined ? this.#remaining === 0 : this.#chunked.done;
  }

  get reusable(): boolean {
    return this.#keep && !this.#extra;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.done) {
      if (chunk.byteLength > 0) this.#extra = true;
      return [];
    }
    if (this.#chunked !== undefined) {
      const data = this.#chunked.push(chunk);
      if (this.#chunked.done && this.#chunked.rest.byteLength > 0) this.#extra = true;
      return data;
    }
    const take = Math.min(this.#remaining, chunk.byteLength);
    this.#remaining -= take;
    if (take < chunk.byteLength) this.#extra = true;
    return [chunk.subarray(0, take)];
  }
}
