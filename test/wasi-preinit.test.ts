// The parts of interpreter routes below HTTP: pre-initialization of a module
// (preinit.ts: mutable globals exported, then rewritten to the values they
// had, data segments emptied, the start function dropped; core spec §5.5)
// on a module written byte by byte; a memory put back as a snapshot left it
// (snapshot.ts); and the script lookup over a root read into memory
// (lookup.ts).

import { describe, expect, test } from "vitest";
import { findInVolume } from "../gateways/wasi/lookup.ts";
import { ModuleError, readU32 } from "../gateways/wasi/binary.ts";
import { exportGlobals, preinitialize } from "../gateways/wasi/preinit.ts";
import { resetToImage, restoreImage } from "../gateways/wasi/snapshot.ts";
import type { VolumeNode } from "../gateways/wasi/volume.ts";
import { HEADER, leb, name, section } from "./fixtures/wasi/wasm.ts";

const PAGE = 65536;
const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];

/**
 * Imports global 0 (i32, from env.g); defines a = 7 (mutable i32), b = -1
 * (mutable i64), c = env.g (immutable); a memory of 1 to 2 pages with "AB"
 * at 16; a start function adding 100 to a; `init` setting a = 42, b = 5
 * and the byte at 32 to 0x99; `getA` returning a.
 */
const MODULE = Uint8Array.from([
  ...HEADER,
  ...section(1, vec([[0x60, 0, 0], [0x60, 0, 1, 0x7f]])),
  ...section(2, vec([[...name("env"), ...name("g"), 0x03, 0x7f, 0x00]])),
  ...section(3, vec([[0], [1], [0]])),
  ...section(5, vec([[0x01, 1, 2]])),
  ...section(6, vec([[0x7f, 0x01, 0x41, 0x07, 0x0b], [0x7e, 0x01, 0x42, 0x7f, 0x0b], [0x7f, 0x00, 0x23, 0x00, 0x0b]])),
  ...section(7, vec([[...name("memory"), 0x02, 0], [...name("init"), 0x00, 0], [...name("getA"), 0x00, 1]])),
  ...section(8, [2]),
  ...section(
    10,
    vec(
      [
        [0x41, 0x2a, 0x24, 0x01, 0x42, 0x05, 0x24, 0x02, 0x41, 0x20, 0x41, 0x99, 0x01, 0x3a, 0x00, 0x00, 0x0b],
        [0x23, 0x01, 0x0b],
        [0x23, 0x01, 0x41, 0xe4, 0x00, 0x6a, 0x24, 0x01, 0x0b],
      ].map((body) => [...leb(body.length + 1), 0x00, ...body]),
    ),
  ),
  ...section(11, vec([[0x00, 0x41, 0x10, 0x0b, 2, 0x41, 0x42]])),
]);

interface Probe {
  memory: WebAssembly.Memory;
  init(): void;
  getA(): number;
  [name: string]: unknown;
}

const instantiate = (bytes: Uint8Array) =>
  new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { env: { g: 1 } }).exports as unknown as Probe;

describe("preinit.ts", () => {
  test("the hand-written module is valid and does what it says", () => {
    const probe = instantiate(MODULE);
    expect(probe.getA()).toBe(107);
    expect([...new Uint8Array(probe.memory.buffer, 16, 2)]).toEqual([0x41, 0x42]);
  });

  test("exportGlobals exports the mutable globals the module defines, by their index after the imported one", () => {
    const { bytes, globals } = exportGlobals(MODULE);
    expect(globals.map((g) => [g.index, g.type])).toEqual([
      [0, 0x7f],
      [1, 0x7e],
    ]);
    const probe = instantiate(bytes);
    const a = probe[globals[0]!.exportName] as WebAssembly.Global;
    const b = probe[globals[1]!.exportName] as WebAssembly.Global;
    expect([a.value, b.value]).toEqual([107, -1n]);
    probe.init();
    expect([a.value, b.value]).toEqual([42, 5n]);
  });

  test("preinitialize: globals start as given, no data segment is written, the start function does not run", () => {
    const bytes = preinitialize(MODULE, new Map<number, number | bigint>([[0, 42], [1, 5n]]));
    expect(WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)).toBe(true);
    const probe = instantiate(bytes);
    // 42, not 142: the start function's work is in the snapshot already.
    expect(probe.getA()).toBe(42);
    expect(new Uint8Array(probe.memory.buffer).every((byte) => byte === 0)).toBe(true);
    expect(() => probe.init()).not.toThrow();
  });

  test("a passive segment (for memory.init) is kept; the active one is emptied (golden bytes)", () => {
    const active = section(11, vec([[0x00, 0x41, 0x10, 0x0b, 2, 0x41, 0x42]]));
    const withPassive = section(11, vec([[0x00, 0x41, 0x10, 0x0b, 2, 0x41, 0x42], [0x01, 2, 0x43, 0x44]]));
    const module = Uint8Array.from([...MODULE.subarray(0, MODULE.length - active.length), ...withPassive]);
    expect(WebAssembly.validate(module as Uint8Array<ArrayBuffer>)).toBe(true);
    const out = preinitialize(module, new Map());
    expect([...out.subarray(out.length - 9)]).toEqual(section(11, vec([[0x01, 0], [0x01, 2, 0x43, 0x44]])));
    expect(WebAssembly.validate(out as Uint8Array<ArrayBuffer>)).toBe(true);
  });

  test("values of every width round-trip: negative, beyond 2^31, i64 extremes", () => {
    for (const [a, b] of [
      [-1, -(2n ** 63n)],
      [2 ** 31 - 1, 2n ** 63n - 1n],
      [-(2 ** 31), 0n],
    ] as const) {
      const { bytes, globals } = exportGlobals(preinitialize(MODULE, new Map<number, number | bigint>([[0, a], [1, b]])));
      const probe = instantiate(bytes);
      expect((probe[globals[0]!.exportName] as WebAssembly.Global).value).toBe(a);
      expect((probe[globals[1]!.exportName] as WebAssembly.Global).value).toBe(b);
    }
  });
});

describe("binary.ts LEB128", () => {
  test("a u32 takes five bytes at most, the fifth with four bits of value", () => {
    expect(readU32(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), 0)).toEqual([2 ** 32 - 1, 5]);
    expect(() => readU32(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x1f), 0)).toThrow(ModuleError);
    expect(() => readU32(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x00), 0)).toThrow(ModuleError);
  });
});

describe("snapshot.ts memories", () => {
  const image = () => {
    const bytes = new SharedArrayBuffer(2 * PAGE);
    new Uint8Array(bytes).fill(1, 0, PAGE).fill(3, PAGE);
    return { pages: [1, 3], bytes };
  };
  const expected = (pages: number) => {
    const out = new Uint8Array(pages * PAGE);
    out.fill(1, PAGE, 2 * PAGE).fill(3, 3 * PAGE, 4 * PAGE);
    return out;
  };

  test("restoreImage: the image's pages where they were, zero elsewhere", () => {
    const memory = restoreImage({ initial: 5, maximum: 8 }, image());
    expect(new Uint8Array(memory.buffer)).toEqual(expected(5));
  });

  test("resetToImage: every byte a run wrote is put back", () => {
    const memory = restoreImage({ initial: 5, maximum: 8 }, image());
    new Uint8Array(memory.buffer).fill(7, 100, 5 * PAGE - 3);
    resetToImage(memory, image());
    expect(new Uint8Array(memory.buffer)).toEqual(expected(5));
  });
});

describe("findInVolume (lookup.ts)", () => {
  const file = (): VolumeNode => ({ kind: "file", bytes: new Uint8Array(0), mtimeMs: 0 });
  const dir = (entries: Record<string, VolumeNode>): VolumeNode => ({ kind: "dir", entries });
  const root = dir({
    "app.rb": file(),
    "notes.txt": file(),
    ".secret.rb": file(),
    sub: dir({ "index.rb": file(), "deep.rb": file() }),
    empty: dir({}),
    ["__proto__"]: file(),
  });
  const find = (path: string) => findInVolume(root, path, ".rb", "index.rb");

  test.each([
    ["/app.rb", { ok: true, scriptName: "/app.rb", pathInfo: "" }],
    ["/app.rb/", { ok: true, scriptName: "/app.rb", pathInfo: "/" }],
    ["/app.rb/a/b", { ok: true, scriptName: "/app.rb", pathInfo: "/a/b" }],
    ["/sub/deep.rb/x", { ok: true, scriptName: "/sub/deep.rb", pathInfo: "/x" }],
    ["/sub", { ok: true, scriptName: "/sub/index.rb", pathInfo: "" }],
    ["/sub/", { ok: true, scriptName: "/sub/index.rb", pathInfo: "" }],
    ["/empty/", { ok: false, status: 403 }],
    ["/", { ok: false, status: 403 }],
    ["/notes.txt", { ok: false, status: 403 }],
    ["/notes.txt/x.rb", { ok: false, status: 403 }],
    ["/.secret.rb", { ok: false, status: 404 }],
    ["/app.rb/.git", { ok: false, status: 404 }],
    ["/missing.rb", { ok: false, status: 404 }],
    ["/sub//deep.rb", { ok: false, status: 404 }],
    ["/__proto__", { ok: false, status: 403 }],
    ["/toString", { ok: false, status: 404 }],
    ["/constructor/x.rb", { ok: false, status: 404 }],
  ])("%s", (path, expected) => {
    expect(find(path)).toEqual(expected);
  });
});
