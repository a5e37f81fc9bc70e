// The wire format between the gateway and the native spawner (spawner.c,
// whose header comment is the reference): the request header written at the
// start of each script connection, and the events the spawner prints.

import { GatewayError } from "../../../src/errors.ts";
import { concatBytes } from "../../../src/io/bytes.ts";

export interface SpawnRequest {
  id: number;
  /** Bytes of the script's stderr to forward; the rest is dropped. */
  maxStderr: number;
  /** argv[0] is an absolute path: the spawner does no PATH search. */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

export type SpawnerEvent =
  | { kind: "ready" }
  | { kind: "exited"; id: number; status: number }
  | { kind: "failed"; id: number; errno: number }
  | { kind: "stderr"; id: number; bytes: Uint8Array };

const encoder = new TextEncoder();

/** The header of a script connection: 32-bit little-endian counts, then NUL-terminated strings. */
export function encodeSpawnRequest(request: SpawnRequest): Uint8Array {
  const strings = [request.cwd, ...request.argv, ...Object.entries(request.env).map(([k, v]) => `${k}=${v}`)];
  const encoded = strings.map((s) => {
    if (s.includes("\0")) throw new GatewayError("INTERNAL", "NUL in a script's argument or environment");
    return encoder.encode(s);
  });
  let length = 16;
  for (const bytes of encoded) length += bytes.byteLength + 1;
  const out = new Uint8Array(4 + length);
  const view = new DataView(out.buffer);
  view.setUint32(0, length, true);
  view.setUint32(4, request.id, true);
  view.setUint32(8, request.maxStderr, true);
  view.setUint32(12, request.argv.length, true);
  view.setUint32(16, strings.length - 1 - request.argv.length, true);
  let offset = 20;
  for (const bytes of encoded) {
    out.set(bytes, offset);
    offset += bytes.byteLength + 1; // the NUL is already there: the buffer starts zeroed
  }
  return out;
}

const LF = 10;
const EMPTY = new Uint8Array(0);
const decoder = new TextDecoder("latin1");

/** Splits the spawner's stdout into events, whatever the chunking. */
export class SpawnerEventParser {
  #buf: Uint8Array = EMPTY;
  /** Stderr bytes still owed to the event being read. */
  #stderr: { id: number; left: number; parts: Uint8Array[] } | undefined;

  push(chunk: Uint8Array): SpawnerEvent[] {
    const events: SpawnerEvent[] = [];
    let data = this.#buf.byteLength === 0 ? chunk : concatBytes([this.#buf, chunk]);
    for (;;) {
      const pending = this.#stderr;
      if (pending) {
        const take = Math.min(pending.left, data.byteLength);
        pending.parts.push(data.subarray(0, take));
        pending.left -= take;
        data = data.subarray(take);
        if (pending.left > 0) break;
        this.#stderr = undefined;
        events.push({ kind: "stderr", id: pending.id, bytes: concatBytes(pending.parts) });
        continue;
      }
      const lf = data.indexOf(LF);
      if (lf < 0) break;
      const [kind, first, second] = decoder.decode(data.subarray(0, lf)).split(" ");
      data = data.subarray(lf + 1);
      const id = Number(first);
      const value = Number(second);
      if (!Number.isInteger(id) || !Number.isInteger(value)) throw new Error("spawner: malformed event");
      if (kind === "R") events.push({ kind: "ready" });
      else if (kind === "X") events.push({ kind: "exited", id, status: value });
      else if (kind === "F") events.push({ kind: "failed", id, errno: value });
      else if (kind === "E") this.#stderr = { id, left: value, parts: [] };
      else throw new Error(`spawner: unknown event ${JSON.stringify(kind)}`);
    }
    // Copied: the caller may reuse its chunk.
    this.#buf = data.byteLength === 0 ? EMPTY : data.slice();
    return events;
  }
}
