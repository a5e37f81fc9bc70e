// Pre-compressed files (nginx gzip_static, Caddy file_server precompressed):
// a static route serves `file.zst`, `file.br` or `file.gz` beside `file`,
// compressed ahead of time at the best levels, to a client that accepts that
// encoding (RFC 9110 §12.5.3), with `file`'s Content-Type.

import type { Schema } from "../../src/config-schema.ts";
import { addVary } from "../../src/http/vary.ts";
import type { Encoding, FileStat } from "../../src/runtime.ts";
import { ENCODINGS } from "../route/compress/fields.ts";
import { acceptedEncodings } from "../route/compress/negotiate.ts";

export const precompressedFields = {
  precompressed: {
    type: "string[]",
    oneOf: ENCODINGS,
    default: [],
    doc: 'encodings whose pre-compressed file (`file.zst`, `file.br`, `file.gz`) is served in place of `file`, in order of preference (`["br", "gzip"]`): to a client that accepts it, and only when not older than `file`; a Range request gets `file` itself. None by default',
  },
} as const satisfies Schema;

/** The name a pre-compressed file has beside the one it holds (zstd's, brotli's and gzip's own tools' suffixes). */
const SUFFIXES: Record<Encoding, string> = { zstd: ".zst", br: ".br", gzip: ".gz" };

/** A file found beside the one asked for, and how it is encoded. */
export interface Precompressed<F> {
  file: F;
  encoding: Encoding;
}

/**
 * The pre-compressed file to serve for `real` (a file found in the root),
 * or undefined. `lookup` finds a name as the route finds any (inside the
 * root, symlinks checked). A Range request is answered from the file itself:
 * its ranges name the uncompressed bytes (RFC 9110 §14.1.2). A pre-compressed
 * file older than the file is a stale copy left by an earlier deploy, and is
 * passed over (nginx serves it all the same).
 */
export async function findPrecompressed<F extends { stat: FileStat }>(
  request: Request,
  offered: readonly Encoding[],
  real: string,
  stat: FileStat,
  lookup: (path: string) => Promise<F | undefined>,
): Promise<Precompressed<F> | undefined> {
  if (request.headers.has("range")) return undefined;
  for (const encoding of acceptedEncodings(request.headers.get("accept-encoding"), offered)) {
    const file = await lookup(real + SUFFIXES[encoding]);
    if (file && file.stat.mtimeMs >= stat.mtimeMs) return { file, encoding };
  }
  return undefined;
}

/**
 * `response` (for a file of a route serving pre-compressed files) as its
 * encoding makes it: Vary on every answer, since another Accept-Encoding may
 * get another file; Content-Encoding on those with the compressed content.
 */
export function encodedAnswer(response: Response, encoding: Encoding | undefined): Response {
  addVary(response.headers, "Accept-Encoding");
  if (encoding !== undefined && response.status === 200) response.headers.set("content-encoding", encoding);
  return response;
}
