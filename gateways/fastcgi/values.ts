// FCGI_GET_VALUES and FCGI_GET_VALUES_RESULT management records (FastCGI spec §4.1).

import { decodeParams, encodeParams } from "./params.ts";
import { encodeRecord, NULL_REQUEST_ID, RecordType } from "./record.ts";

// §4.1: the variables an application may be asked about.
export const FCGI_MAX_CONNS = "FCGI_MAX_CONNS";
export const FCGI_MAX_REQS = "FCGI_MAX_REQS";
export const FCGI_MPXS_CONNS = "FCGI_MPXS_CONNS";

/** An FCGI_GET_VALUES record: requestId 0, the names as pairs with empty values (§4.1). */
export function encodeGetValues(names: string[]): Uint8Array {
  return encodeRecord(
    RecordType.GET_VALUES,
    NULL_REQUEST_ID,
    encodeParams(names.map((name): [string, string] => [name, ""])),
  );
}

/** The content of an FCGI_GET_VALUES_RESULT record as a map of name to value (§4.1). */
export function decodeGetValuesResult(content: Uint8Array): Map<string, string> {
  return new Map(decodeParams(content));
}
