// The uwsgi protocol's request packet (uWSGI docs, "The uwsgi protocol"): a
// 4-byte header — modifier1 (u8), datasize (u16 little-endian), modifier2
// (u8) — then the vars block of datasize bytes, each variable a key and a
// value, each prefixed by its u16 little-endian length. The request body
// follows the packet, CONTENT_LENGTH bytes of it.

import { GatewayError } from "../../src/errors.ts";

/** A u16 holds the vars block's size: a larger one cannot be sent (never a wrapped length). */
export const MAX_VARS_SIZE = 0xffff;
const HEADER_SIZE = 4;

const encoder = new TextEncoder();

/**
 * The packet for `vars` (names and values sent as UTF-8). Throws
 * HEADERS_TOO_LARGE (431) when the vars block is over MAX_VARS_SIZE: the
 * request's fields do not fit the protocol, and nothing has been sent.
 */
export function encodeUwsgiPacket(vars: Record<string, string>, modifier1 = 0, modifier2 = 0): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const name in vars) {
    const key = encoder.encode(name);
    const value = encoder.encode(vars[name]);
    parts.push(key, value);
    size += 4 + key.byteLength + value.byteLength;
  }
  if (size > MAX_VARS_SIZE) {
    throw new GatewayError("HEADERS_TOO_LARGE", `uwsgi vars block of ${size} bytes; the protocol's u16 size holds at most ${MAX_VARS_SIZE}`);
  }
  const packet = new Uint8Array(HEADER_SIZE + size);
  packet[0] = modifier1;
  writeU16(packet, 1, size);
  packet[3] = modifier2;
  let at = HEADER_SIZE;
  for (const part of parts) {
    writeU16(packet, at, part.byteLength);
    packet.set(part, at + 2);
    at += 2 + part.byteLength;
  }
  return packet;
}

function writeU16(target: Uint8Array, at: number, n: number): void {
  target[at] = n & 0xff;
  target[at + 1] = n >>> 8;
}
