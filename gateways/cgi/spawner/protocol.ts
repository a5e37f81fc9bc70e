// The frames between the gateway and the native spawner (spawner.c, whose
// header comment is the reference): type (1 byte), id (u32), n (u32), then n
// payload bytes for the types that carry one; integers little-endian.

import { GatewayError } from "../../../src/errors.ts";
import { concatBytes } from "../../../src/io/bytes.ts";
import { isInside } from "../../../src/paths.ts";
import type { ScriptSpec } from "../../script/launcher.ts";

export interface StartRequest {
  id: number;
  /** Bytes of the script's stderr to forward; the rest is dropped. */
  maxStderr: number;
  /** The real root the script lies beneath. */
  root: string;
  /** The script's directory relative to the root ("" for the root itself): opened beneath it, no symlink followed. */
  dir: string;
  /** The script's file name in that directory, where it starts. */
  name: string;
  /** argv[0] is an interpreter's absolute path (the spawner does no PATH search) or `./${name}`. */
  argv: string[];
  env: Record<string, string>;
}

/** Frames to the spawner without a payload: n is a count or a signal number. */
export type ControlType = "C" | "W" | "K" | "D";

export type SpawnerFrame =
  | { type: "O" | "E"; id: number; payload: Uint8Array }
  | { type: "Z" | "A" | "X" | "F"; id: number; n: number };

const HEAD = 9;
const encoder = new TextEncoder();

function head(out: Uint8Array, type: string, id: number, n: number): void {
  out[0] = type.charCodeAt(0);
  const view = new DataView(out.buffer, out.byteOffset, HEAD);
  view.setUint32(1, id, true);
  view.setUint32(5, n, true);
}

/**
 * The start frame's fields for a script: where the spawner finds it (its
 * directory relative to the real root, and its name, run as `./name` there:
 * the spawner opens the directory beneath the root, following no symlink).
 */
export function startRequest(id: number, spec: ScriptSpec): StartRequest {
  const script = spec.argv.at(-1)!;
  const root = spec.root;
  const slash = script.lastIndexOf("/");
  const dir = script.slice(0, slash) || "/";
  if (root === undefined || dir !== spec.cwd || !(dir === root || isInside(root, dir))) {
    throw new GatewayError("INTERNAL", `the CGI spawner runs scripts beneath a root: ${script} is not one (${root ?? "no root"})`);
  }
  const name = script.slice(slash + 1);
  const relative = dir === root ? "" : dir.slice(root.endsWith("/") ? root.length : root.length + 1);
  const maxStderr = Math.min(spec.maxStderr, 0xffff_ffff);
  return { id, maxStderr, root, dir: relative, name, argv: [...spec.argv.slice(0, -1), `./${name}`], env: spec.env };
}

/** The 'S' frame: counts, then NUL-terminated root, dir, name, argv and NAME=value strings. */
export function encodeStart(request: StartRequest): Uint8Array {
  let text = `${request.root}\0${request.dir}\0${request.name}\0`;
  for (const arg of request.argv) text += `${arg}\0`;
  let envc = 0;
  for (const name in request.env) {
    text += `${name}=${request.env[name]}\0`;
    envc++;
  }
  // Each string ends at its first NUL: one inside would shift every later one.
  let nuls = 0;
  for (let i = text.indexOf("\0"); i >= 0; i = text.indexOf("\0", i + 1)) nuls++;
  if (nuls !== 3 + request.argv.length + envc) throw new GatewayError("INTERNAL", "NUL in a script's argument or environment");
  const strings = encoder.encode(text);
  const out = new Uint8Array(HEAD + 12 + strings.byteLength);
  head(out, "S", request.id, 12 + strings.byteLength);
  const view = new DataView(out.buffer, HEAD, 12);
  view.setUint32(0, request.maxStderr, true);
  view.setUint32(4, request.argv.length, true);
  view.setUint32(8, envc, true);
  out.set(strings, HEAD + 12);
  return out;
}

/** An 'I' frame: bytes for the script's stdin. */
export function encodeInput(id: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEAD + bytes.byteLength);
  head(out, "I", id, bytes.byteLength);
  out.set(bytes, HEAD);
  return out;
}

export function encodeControl(type: ControlType, id: number, n = 0): Uint8Array {
  const out = new Uint8Array(HEAD);
  head(out, type, id, n);
  return out;
}

const EMPTY = new Uint8Array(0);
const PAYLOAD_TYPES = new Set(["O", "E"]);
const KNOWN_TYPES = new Set(["O", "E", "Z", "A", "X", "F"]);
/** spawner.c's CHUNK: no 'O' or 'E' frame carries more; a longer one means the stream is out of step. */
const MAX_PAYLOAD = 65536;

/**
 * Splits the spawner's byte stream into frames, whatever the chunking;
 * throws BACKEND_MALFORMED at a frame the spawner never writes, after
 * handing over every frame before it (the same ones for any chunking).
 */
export class SpawnerFrameParser {
  #buf: Uint8Array = EMPTY;

  /** Calls onFrame for each complete frame; a payload is a view into the pushed bytes, valid during the call. */
  push(chunk: Uint8Array, onFrame: (frame: SpawnerFrame) => void): void {
    const data = this.#buf.byteLength === 0 ? chunk : concatBytes([this.#buf, chunk]);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let offset = 0;
    try {
      while (data.byteLength - offset >= HEAD) {
        const at = offset;
        const type = String.fromCharCode(data[at]!);
        if (!KNOWN_TYPES.has(type)) throw malformed(`unknown frame type ${JSON.stringify(type)}`);
        const id = view.getUint32(at + 1, true);
        const n = view.getUint32(at + 5, true);
        if (PAYLOAD_TYPES.has(type)) {
          if (n > MAX_PAYLOAD) throw malformed(`'${type}' frame of ${n} bytes`);
          if (data.byteLength - at < HEAD + n) break;
          offset += HEAD + n;
          onFrame({ type: type as "O" | "E", id, payload: data.subarray(at + HEAD, at + HEAD + n) });
        } else {
          offset += HEAD;
          onFrame({ type: type as "Z" | "A" | "X" | "F", id, n });
        }
      }
    } finally {
      // Moved on before each onFrame: a throwing callback leaves no frame to be handed over twice.
      this.#buf = offset === data.byteLength ? EMPTY : data.subarray(offset);
    }
  }
}

function malformed(detail: string): GatewayError {
  return new GatewayError("BACKEND_MALFORMED", `spawner: ${detail}`);
}
