// Fuzz targets for the frames between the gateway and the native CGI
// spawner (gateways/cgi/spawner/protocol.ts; the format is spawner.c's header
// comment): the parser fed any bytes in any chunking, the spawner's frames
// read back, and the start frame decoded as spawner.c reads it.

import fc from "fast-check";
import { encodeStart, SpawnerFrameParser, type SpawnerFrame, type StartRequest } from "../../gateways/cgi/spawner/protocol.ts";
import { GatewayError } from "../../src/errors.ts";
import { concatBytes } from "../../src/io/bytes.ts";
import { check, chunked, cuts, expectSame, emitted, type FuzzFamily, outcome, piecesCutShort, sameInAnyChunks } from "./harness.ts";

const isTyped = (err: unknown): boolean => err instanceof GatewayError;

/** A frame as spawner.c's frame() writes it: type, id u32, n u32 (little-endian), then the payload of 'O' and 'E'. */
function frameBytes(type: string, id: number, n: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  out[0] = type.charCodeAt(0);
  const view = new DataView(out.buffer);
  view.setUint32(1, id, true);
  view.setUint32(5, n, true);
  out.set(payload, 9);
  return out;
}

function encodeFrame(frame: SpawnerFrame): Uint8Array {
  return "payload" in frame ? frameBytes(frame.type, frame.id, frame.payload.length, frame.payload) : frameBytes(frame.type, frame.id, frame.n);
}

const u32 = fc.oneof(fc.constantFrom(0, 1, 0xffff_ffff), fc.integer({ min: 0, max: 0xffff_ffff }));
const frame: fc.Arbitrary<SpawnerFrame> = fc.oneof(
  fc.record({ type: fc.constantFrom("O" as const, "E" as const), id: u32, payload: fc.uint8Array({ maxLength: 100 }) }),
  fc.record({ type: fc.constantFrom("Z" as const, "A" as const, "X" as const, "F" as const), id: u32, n: u32 }),
);

/** Frames, some with another type byte or a length past what follows, garbage between them, maybe cut short. */
const stream = piecesCutShort(
  fc.oneof(
    { weight: 6, arbitrary: frame.map(encodeFrame) },
    { weight: 1, arbitrary: fc.tuple(frame, fc.integer({ min: 0, max: 255 })).map(([f, type]) => Uint8Array.of(type, ...encodeFrame(f).subarray(1))) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom("O", "E"), u32, u32).map(([type, id, n]) => frameBytes(type, id, n)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
  ),
);

/** The frames a parser makes of the chunks (payloads copied), then the error that stopped it, if any. */
function parse(chunks: Uint8Array[]): { events: SpawnerFrame[]; error?: string } {
  const parser = new SpawnerFrameParser();
  return emitted<SpawnerFrame>((emit) => {
    for (const chunk of chunks) parser.push(chunk, (f) => emit("payload" in f ? { ...f, payload: f.payload.slice() } : f));
  }, isTyped);
}

const parserBytes = () => sameInAnyChunks(stream, parse);

const parserRoundTrip = () =>
  fc.property(fc.array(frame, { maxLength: 8 }), cuts, (frames, how) => {
    expectSame("frames read back", parse(chunked(concatBytes(frames.map(encodeFrame)).slice(), how)), { events: frames });
  });

/** spawner.c's reading of an 'S' frame: counts, then NUL-terminated strings. */
function decodeStart(bytes: Uint8Array): StartRequest {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  check(bytes[0] === "S".charCodeAt(0) && view.getUint32(5, true) === bytes.length - 9, "'S' frame head");
  const [maxStderr, argc, envc] = [view.getUint32(9, true), view.getUint32(13, true), view.getUint32(17, true)];
  const strings = new TextDecoder().decode(bytes.subarray(21)).split("\0");
  check(strings.pop() === "" && strings.length === 3 + argc + envc, "string count");
  const [root, dir, name] = strings as [string, string, string];
  const env: Record<string, string> = {};
  for (const pair of strings.slice(3 + argc)) env[pair.slice(0, pair.indexOf("="))] = pair.slice(pair.indexOf("=") + 1);
  return { id: view.getUint32(1, true), maxStderr, root, dir, name, argv: strings.slice(3, 3 + argc), env };
}

const cstring = fc.string({ maxLength: 12, unit: fc.constantFrom("a", "/", "=", " ", "é", "\0", "x") });
const startRoundTrip = () =>
  fc.property(
    fc.record({
      id: u32,
      maxStderr: u32,
      root: cstring,
      dir: cstring,
      name: cstring,
      argv: fc.array(cstring, { maxLength: 4 }),
      env: fc.dictionary(cstring.filter((n) => !n.includes("=") && n !== "__proto__"), cstring, { maxKeys: 4 }),
    }),
    (request) => {
      const encoded = outcome(() => encodeStart(request), (err) => err instanceof GatewayError && err.code === "INTERNAL");
      const fields = [request.root, request.dir, request.name, ...request.argv, ...Object.entries(request.env).flat()];
      check("error" in encoded === fields.some((s) => s.includes("\0")), "a NUL inside a string and the refusal disagree");
      if ("value" in encoded) expectSame("start request", decodeStart(encoded.value), request);
    },
  );

export const spawner: FuzzFamily = {
  family: "spawner-frames",
  targets: [
    { name: "SpawnerFrameParser, any bytes, re-chunked", share: 0.6, property: parserBytes },
    { name: "SpawnerFrameParser, frames round trip", share: 0.2, property: parserRoundTrip },
    { name: "encodeStart, as the spawner reads it", share: 0.2, property: startRoundTrip },
  ],
};
