// The route keys of every gateway that talks to a backend (fastcgi, cgi,
// wasi): how a request body is received and an answer read ahead, with one
// name and one default everywhere (nginx's client_body_buffer_size,
// client_body_timeout, proxy_max_temp_file_size and send_timeout).
// body_timeout and send_timeout default to the top-level [client] table's
// in postern.toml (src/client-limits.ts), whose defaults they share.

import { DEFAULT_CLIENT_LIMITS } from "../client-limits.ts";
import type { Schema, ValidatedOf } from "../config-schema.ts";

const MiB = 1024 ** 2;

export const bufferingFields = {
  max_body_size: { type: "size", default: 1024 ** 3, min: 0, doc: "largest request body; beyond it 413" },
  max_buffered_body: {
    type: "size",
    default: 16 * MiB,
    min: 0,
    doc: "the memory threshold per request: bytes of its body held in memory; the rest goes to a temporary file (where the runtime has none, Workers, a body past it is 413). Without `request_buffering`: the largest body without `Content-Length` (chunked), read into memory to send its length; beyond it 413",
  },
  request_buffering: {
    type: "boolean",
    default: true,
    doc: "receive the whole request body before a backend is taken, so that a slow uploader holds none; `false` streams a body with `Content-Length` to the backend as it arrives (a slow uploader then holds the backend)",
  },
  body_timeout: {
    type: "duration",
    default: DEFAULT_CLIENT_LIMITS.bodyTimeout,
    min: 1,
    doc: "longest wait for the next bytes of a request body; beyond it 408 and the connection is closed. In postern.toml the default is `[client]`'s `body_timeout`",
  },
  response_buffer: {
    type: "size",
    default: 64 * MiB,
    min: 0,
    doc: "bytes of an answer read ahead of a slow client (the first MiB in memory, the rest in a temporary file), so that the backend is free sooner; past it the backend waits for the client (backpressure). `0`: the backend keeps the client's pace",
  },
  send_timeout: {
    type: "duration",
    default: DEFAULT_CLIENT_LIMITS.sendTimeout,
    min: 1,
    doc: "a client that takes none of its answer for this long is cut off (the connection is closed; the error log says so). In postern.toml the default is `[client]`'s `send_timeout`",
  },
} as const satisfies Schema;

/** The validated values of bufferingFields. */
export type BufferingOptions = ValidatedOf<typeof bufferingFields>;
