// The opening of a request as one buffer (FastCGI spec §5.1–§5.3; §6.2 for
// a Responder, §6.3 for an Authorizer): FCGI_BEGIN_REQUEST, the FCGI_PARAMS
// stream and its empty record, and, when the body is already in hand, the
// FCGI_STDIN stream and its end. One allocation and one write per request.

import { withEncodedParams, type Pairs } from "./params.ts";
import { HEADER_LENGTH, RecordType, Role, streamLength, writeHeader, writeStream } from "./record.ts";

const BEGIN_REQUEST_LENGTH = HEADER_LENGTH + 8; // §5.1: header + FCGI_BeginRequestBody

/**
 * `body`: the whole body (its STDIN records and end are included), null for
 * none (just the STDIN end), or "stream" when STDIN records follow separately.
 */
export function encodeRequestStart(
  requestId: number,
  flags: number,
  params: Pairs,
  body: Uint8Array | null | "stream",
  role: Role = Role.RESPONDER,
): Uint8Array {
  return withEncodedParams(params, (pairs) => {
    const stdin = body === "stream" ? 0 : streamLength(body?.length ?? 0) + HEADER_LENGTH;
    const out = new Uint8Array(BEGIN_REQUEST_LENGTH + streamLength(pairs.length) + HEADER_LENGTH + stdin);
    writeHeader(out, 0, RecordType.BEGIN_REQUEST, requestId, 8, 0);
    out[9] = role; // role, two bytes big-endian; out[8] stays 0
    out[10] = flags;
    let at = writeStream(out, BEGIN_REQUEST_LENGTH, RecordType.PARAMS, requestId, pairs);
    writeHeader(out, at, RecordType.PARAMS, requestId, 0, 0);
    at += HEADER_LENGTH;
    if (body !== "stream") {
      at = writeStream(out, at, RecordType.STDIN, requestId, body ?? EMPTY);
      writeHeader(out, at, RecordType.STDIN, requestId, 0, 0);
    }
    return out;
  });
}

const EMPTY = new Uint8Array(0);
