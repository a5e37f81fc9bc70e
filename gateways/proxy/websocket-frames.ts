// WebSocket frames (RFC 6455 §5) for a relay that speaks to the backend as a
// client where the server cannot pass bytes through (Deno, Bun): frames it
// sends are masked (§5.3), frames it reads must not be (§5.1); fragmented
// messages are joined (§5.4), control frames are whole and short (§5.5), and
// a message is bounded in size.

import { concatBytes } from "../../src/io/bytes.ts";

/** RFC 6455 §5.2 opcodes. */
export const TEXT = 1;
export const BINARY = 2;
export const CLOSE = 8;
export const PING = 9;
export const PONG = 10;

export interface Message {
  opcode: typeof TEXT | typeof BINARY | typeof CLOSE | typeof PING | typeof PONG;
  payload: Uint8Array;
}

/** A frame from a client (FIN set, masked with `mask`, 4 random bytes). */
export function encodeFrame(opcode: number, payload: Uint8Array, mask: Uint8Array): Uint8Array {
  const n = payload.byteLength;
  const extra = n < 126 ? 0 : n < 0x10000 ? 2 : 8;
  const frame = new Uint8Array(2 + extra + 4 + n);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | (extra === 0 ? n : extra === 2 ? 126 : 127);
  const view = new DataView(frame.buffer);
  if (extra === 2) view.setUint16(2, n);
  else if (extra === 8) view.setBigUint64(2, BigInt(n));
  const at = 2 + extra;
  frame.set(mask.subarray(0, 4), at);
  for (let i = 0; i < n; i++) frame[at + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

/** The payload of a close frame (§5.5.1): the code, then the reason in UTF-8 (none without a code). */
export function closePayload(code: number | undefined, reason: string): Uint8Array {
  if (code === undefined) return new Uint8Array(0);
  const text = new TextEncoder().encode(reason).subarray(0, 123);
  const payload = new Uint8Array(2 + text.byteLength);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return payload;
}

/** The code and reason of a close frame's payload; no code: 1005 (§7.1.5). */
export function parseClose(payload: Uint8Array): { code: number; reason: string } {
  if (payload.byteLength < 2) return { code: 1005, reason: "" };
  return { code: (payload[0]! << 8) | payload[1]!, reason: new TextDecoder().decode(payload.subarray(2)) };
}

/** A frame or message over the decoder's bound: the relay closes with 1009 (§7.4.1). */
export class MessageTooBig extends Error {}

/** Reads the backend's frames into messages. Throws an Error on a protocol violation (the relay then closes). */
export class FrameDecoder {
  readonly #maxMessage: number;
  /** Bytes read and not yet framed, as they came (joined only a frame at a time). */
  #chunks: Uint8Array[] = [];
  #size = 0;
  /** The data message being joined from fragments. */
  #parts: Uint8Array[] = [];
  #partsSize = 0;
  #partsOpcode = 0;

  constructor(maxMessage: number) {
    this.#maxMessage = maxMessage;
  }

  push(chunk: Uint8Array): Message[] {
    this.#chunks.push(chunk);
    this.#size += chunk.byteLength;
    const out: Message[] = [];
    for (;;) {
      const frame = this.#frame();
      if (frame === undefined) return out;
      const message = this.#message(frame);
      if (message) out.push(message);
    }
  }

  #frame(): { fin: boolean; opcode: number; payload: Uint8Array } | undefined {
    if (this.#size < 2) return undefined;
    const b = this.#take(Math.min(this.#size, 14), false);
    if ((b[0]! & 0x70) !== 0) throw new Error("RSV bits set without an extension (RFC 6455 §5.2)");
    if ((b[1]! & 0x80) !== 0) throw new Error("a masked frame from the server (RFC 6455 §5.1)");
    let length = b[1]! & 0x7f;
    let at = 2;
    if (length === 126) {
      if (b.byteLength < 4) return undefined;
      length = (b[2]! << 8) | b[3]!;
      at = 4;
    } else if (length === 127) {
      if (b.byteLength < 10) return undefined;
      const big = new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0);
      if (big > BigInt(this.#maxMessage)) throw new MessageTooBig(`a frame over ${this.#maxMessage} bytes`);
      length = Number(big);
      at = 10;
    }
    if (length > this.#maxMessage) throw new MessageTooBig(`a frame over ${this.#maxMessage} bytes`);
    if (this.#size < at + length) return undefined;
    const payload = this.#take(at + length, true).subarray(at);
    return { fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, payload };
  }

  /** The first `n` bytes read, joined; `consume`: removed from what is read. */
  #take(n: number, consume: boolean): Uint8Array {
    let count = 0;
    let size = 0;
    while (size < n) size += this.#chunks[count++]!.byteLength;
    const bytes = concatBytes(this.#chunks.slice(0, count)).subarray(0, n);
    if (!consume) return bytes;
    const last = this.#chunks[count - 1]!;
    const left = size - n;
    this.#chunks.splice(0, count, ...(left > 0 ? [last.subarray(last.byteLength - left)] : []));
    this.#size -= n;
    return bytes;
  }

  #message(frame: { fin: boolean; opcode: number; payload: Uint8Array }): Message | undefined {
    const { fin, opcode, payload } = frame;
    if (opcode >= 8) {
      // §5.5: control frames are never fragmented and carry at most 125 bytes.
      if (!fin || payload.byteLength > 125 || (opcode !== CLOSE && opcode !== PING && opcode !== PONG)) throw new Error(`bad control frame ${opcode}`);
      return { opcode, payload: payload.slice() } as Message;
    }
    if (opcode === 0 ? this.#partsOpcode === 0 : this.#partsOpcode !== 0 || (opcode !== TEXT && opcode !== BINARY)) {
      throw new Error(`unexpected frame opcode ${opcode} (RFC 6455 §5.4)`);
    }
    if (opcode !== 0) this.#partsOpcode = opcode;
    this.#partsSize += payload.byteLength;
    if (this.#partsSize > this.#maxMessage) throw new MessageTooBig(`a message over ${this.#maxMessage} bytes`);
    this.#parts.push(payload.slice());
    if (!fin) return undefined;
    const message = { opcode: this.#partsOpcode, payload: concatBytes(this.#parts) } as Message;
    this.#parts = [];
    this.#partsSize = 0;
    this.#partsOpcode = 0;
    return message;
  }
}
