// FastCGI 1.0 record framing: constants, headers and the fixed bodies (FastCGI spec §3.3, §4, §5, §8).

import { FastCgiProtocolError } from "./errors.ts";

export const FCGI_VERSION_1 = 1; // §8
export const HEADER_LENGTH = 8; // §8 FCGI_HEADER_LEN
export const MAX_CONTENT_LENGTH = 65535; // §3.3: contentLength is two bytes
export const NULL_REQUEST_ID = 0; // §3.3: management records use requestId 0

/** Record types (§8). */
export const RecordType = {
  BEGIN_REQUEST: 1,
  ABORT_REQUEST: 2,
  END_REQUEST: 3,
  PARAMS: 4,
  STDIN: 5,
  STDOUT: 6,
  STDERR: 7,
  DATA: 8,
  GET_VALUES: 9,
  GET_VALUES_RESULT: 10,
  UNKNOWN_TYPE: 11,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** Roles of FCGI_BeginRequestBody (§5.1, §6). */
export const Role = { RESPONDER: 1, AUTHORIZER: 2, FILTER: 3 } as const;
export type Role = (typeof Role)[keyof typeof Role];

/** protocolStatus of FCGI_EndRequestBody (§5.5). */
export const ProtocolStatus = {
  REQUEST_COMPLETE: 0,
  CANT_MPX_CONN: 1,
  OVERLOADED: 2,
  UNKNOWN_ROLE: 3,
} as const;
export type ProtocolStatus = (typeof ProtocolStatus)[keyof typeof ProtocolStatus];

/** flags bit of FCGI_BeginRequestBody: keep the connection open after the request (§5.1). */
export const FCGI_KEEP_CONN = 1;

/** Padding that brings content to a multiple of 8 bytes, as §3.3 recommends. */
export function paddingFor(contentLength: number): number {
  return -contentLength & 7;
}

/** Writes an FCGI_Header (§3.3) at offset; throws RangeError for fields out of range. */
export function writeHeader(
  target: Uint8Array,
  offset: number,
  type: number,
  requestId: number,
  contentLength: number,
  paddingLength: number,
): void {
  if (contentLength > MAX_CONTENT_LENGTH || contentLength < 0) {
    throw new RangeError(`FastCGI record content of ${contentLength} bytes; the maximum is ${MAX_CONTENT_LENGTH} (FastCGI spec §3.3)`);
  }
  if (requestId > 0xffff || requestId < 0 || paddingLength > 0xff || paddingLength < 0 || type > 0xff || type < 0) {
    throw new RangeError(`FastCGI header field out of range: type ${type}, requestId ${requestId}, padding ${paddingLength} (FastCGI spec §3.3)`);
  }
  target[offset] = FCGI_VERSION_1;
  target[offset + 1] = type;
  target[offset + 2] = requestId >>> 8;
  target[offset + 3] = requestId & 0xff;
  target[offset + 4] = contentLength >>> 8;
  target[offset + 5] = contentLength & 0xff;
  target[offset + 6] = paddingLength;
  target[offset + 7] = 0; // reserved
}

/** One record (§3.3): content of at most 65535 bytes, padded to a multiple of 8. */
export function encodeRecord(type: number, requestId: number, content: Uint8Array): Uint8Array {
  const padding = paddingFor(content.length);
  const out = new Uint8Array(HEADER_LENGTH + content.length + padding);
  writeHeader(out, 0, type, requestId, content.length, padding);
  out.set(content, HEADER_LENGTH);
  return out;
}

/**
 * A stream's data (§3.3 "Stream records") as records of at most 65535 content
 * bytes, each padded to a multiple of 8, in one buffer. Empty data gives an
 * empty array: the empty record that ends the stream is encodeStreamEnd's.
 */
export function encodeStream(type: number, requestId: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(streamLength(data.length));
  writeStream(out, 0, type, requestId, data);
  return out;
}

/** Bytes that `length` bytes of stream data take as records (§3.3), without the ending empty record. */
export function streamLength(length: number): number {
  if (length === 0) return 0;
  const records = Math.ceil(length / MAX_CONTENT_LENGTH);
  const last = length - (records - 1) * MAX_CONTENT_LENGTH;
  return length + records * HEADER_LENGTH + (records - 1) * paddingFor(MAX_CONTENT_LENGTH) + paddingFor(last);
}

/** Writes `data` as stream records at `offset` (target zero-filled there); returns the offset after them. */
export function writeStream(target: Uint8Array, offset: number, type: number, requestId: number, data: Uint8Array): number {
  let at = offset;
  for (let from = 0; from < data.length; from += MAX_CONTENT_LENGTH) {
    const length = Math.min(MAX_CONTENT_LENGTH, data.length - from);
    const padding = paddingFor(length);
    writeHeader(target, at, type, requestId, length, padding);
    target.set(data.subarray(from, from + length), at + HEADER_LENGTH);
    at += HEADER_LENGTH + length + padding; // padding bytes stay zero
  }
  return at;
}

/** The empty record that ends a stream (§3.3). */
export function encodeStreamEnd(type: number, requestId: number): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  writeHeader(out, 0, type, requestId, 0, 0);
  return out;
}

/** FCGI_BEGIN_REQUEST with its FCGI_BeginRequestBody (§5.1). */
export function encodeBeginRequest(requestId: number, role: number, flags: number): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + 8);
  writeHeader(out, 0, RecordType.BEGIN_REQUEST, requestId, 8, 0);
  out[8] = role >>> 8;
  out[9] = role & 0xff;
  out[10] = flags;
  return out;
}

/** FCGI_ABORT_REQUEST: an empty record (§5.4). */
export function encodeAbortRequest(requestId: number): Uint8Array {
  return encodeStreamEnd(RecordType.ABORT_REQUEST, requestId);
}

/** FCGI_END_REQUEST with its FCGI_EndRequestBody (§5.5); an application's answer, for test backends. */
export function encodeEndRequest(requestId: number, appStatus: number, protocolStatus: number): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + 8);
  writeHeader(out, 0, RecordType.END_REQUEST, requestId, 8, 0);
  new DataView(out.buffer).setUint32(8, appStatus >>> 0);
  out[12] = protocolStatus;
  return out;
}

/** FCGI_UNKNOWN_TYPE, the answer to a management record of a type not understood (§4.2). */
export function encodeUnknownType(type: number): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + 8);
  writeHeader(out, 0, RecordType.UNKNOWN_TYPE, NULL_REQUEST_ID, 8, 0);
  out[8] = type;
  return out;
}

/** FCGI_BeginRequestBody (§5.1): exactly 8 bytes. */
export function decodeBeginRequest(content: Uint8Array): { role: number; flags: number } {
  expectBodyLength("FCGI_BEGIN_REQUEST", content, "§5.1");
  return { role: (content[0] << 8) | content[1], flags: content[2] };
}

/** FCGI_EndRequestBody (§5.5): exactly 8 bytes. */
export function decodeEndRequest(content: Uint8Array): { appStatus: number; protocolStatus: number } {
  expectBodyLength("FCGI_END_REQUEST", content, "§5.5");
  const view = new DataView(content.buffer, content.byteOffset, content.byteLength);
  return { appStatus: view.getUint32(0), protocolStatus: content[4] };
}

function expectBodyLength(name: string, content: Uint8Array, section: string): void {
  if (content.length !== 8) {
    throw new FastCgiProtocolError(`${name} body of ${content.length} bytes, not 8 (FastCGI spec ${section})`);
  }
}
