// The WASI gateway's parts below HTTP: the memory cap and the memory import
// written into a module's bytes (memory-limit.ts, WebAssembly core spec
// §5.5.8, §5.3.8, §5.5.5), the preview1 host (host.ts) running the example
// probe module in this thread with in-memory stdin, stdout and stderr, and a
// route running a module bundled with a runtime that has no file system.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { encodeStrings, Errno, WasiExit, wasiImports, type WasiIo } from "../gateways/wasi/host.ts";
import { Hono } from "hono";
import { createGateway } from "../gateways/index.ts";
import { ModuleError } from "../gateways/wasi/binary.ts";
import { importMemory, limitMemory } from "../gateways/wasi/memory-limit.ts";
import { IOV_MAX, MAX_RW_COUNT, PATH_MAX } from "../gateways/wasi/guest-memory.ts";
import { readVolume, type Volume } from "../gateways/wasi/volume.ts";
import type { Runtime, WorkerThread } from "../src/runtime.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { buildModule, HEADER, leb, name, section, sleb } from "./fixtures/wasi/wasm.ts";

const PAGE = 65536;
const MiB = 1024 * 1024;
const PROBE = join(import.meta.dirname, "../examples/wasi/probe.wasm");

const bytes = (...parts: number[][]) => Uint8Array.from(parts.flat());

/** Node's runtime with a quiet error log, each thread it starts passed through `wrap`. */
function withThreads(wrap: (thread: WorkerThread) => WorkerThread): Runtime {
  return { ...nodeRuntime, logError: () => undefined, startWorker: (url) => wrap(nodeRuntime.startWorker(url)) };
}

/** A wasi route set up on `runtime`, served by a hono app for `use`, then closed. */
async function withRoute<T>(runtime: Runtime, options: Record<string, unknown>, use: (app: Hono) => Promise<T>): Promise<T> {
  const handler = createGateway("wasi", runtime, options);
  try {
    await handler.ready;
    return await use(new Hono().all("*", handler));
  } finally {
    await handler.close();
  }
}

// ---------------------------------------------------------------------------

describe("limitMemory (memory-limit.ts)", () => {
  // A whole module, byte by byte: a type, a function, a memory, two exports, a body.
  const TYPE = [0x01, 0x04, 0x01, 0x60, 0x00, 0x00];
  const FUNC = [0x03, 0x02, 0x01, 0x00];
  const EXPORTS = [0x07, 0x13, 0x02, ...name("memory"), 0x02, 0x00, ...name("_start"), 0x00, 0x00];
  const CODE = [0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b];
  const moduleWith = (memorySection: number[]) => bytes(HEADER, TYPE, FUNC, memorySection, EXPORTS, CODE);

  test("the hand-written module is valid as written", () => {
    expect(WebAssembly.validate(moduleWith([0x05, 0x03, 0x01, 0x00, 0x01]))).toBe(true);
    expect(WebAssembly.validate(moduleWith([0x05, 0x04, 0x01, 0x01, 0x01, 0x0a]))).toBe(true);
  });

  test("a memory without a maximum gets the cap as its maximum (golden bytes)", () => {
    // min 1 page, no maximum -> flags 1, min 1, max 3.
    const out = limitMemory(moduleWith([0x05, 0x03, 0x01, 0x00, 0x01]), 3 * PAGE);
    expect([...out]).toEqual([...moduleWith([0x05, 0x04, 0x01, 0x01, 0x01, 0x03])]);
    expect(WebAssembly.validate(out as Uint8Array<ArrayBuffer>)).toBe(true);
  });

  test("a maximum above the cap is lowered to it (golden bytes)", () => {
    const out = limitMemory(moduleWith([0x05, 0x04, 0x01, 0x01, 0x01, 0x0a]), 3 * PAGE);
    expect([...out]).toEqual([...moduleWith([0x05, 0x04, 0x01, 0x01, 0x01, 0x03])]);
  });

  test("a maximum below the cap is kept (golden bytes)", () => {
    const out = limitMemory(moduleWith([0x05, 0x04, 0x01, 0x01, 0x01, 0x02]), 3 * PAGE);
    expect([...out]).toEqual([...moduleWith([0x05, 0x04, 0x01, 0x01, 0x01, 0x02])]);
  });

  test("a cap that is not a whole number of pages is rounded down", () => {
    const out = limitMemory(moduleWith([0x05, 0x03, 0x01, 0x00, 0x01]), 3 * PAGE + PAGE - 1);
    expect([...out]).toEqual([...moduleWith([0x05, 0x04, 0x01, 0x01, 0x01, 0x03])]);
  });

  test("multi-byte LEB128 numbers: the section grows, what follows it is intact (golden bytes)", () => {
    // 256 MiB = 4096 pages = LEB128 80 20; min 300 pages = ac 02.
    const out = limitMemory(moduleWith([0x05, 0x04, 0x01, 0x00, 0xac, 0x02]), 256 * MiB);
    expect([...out]).toEqual([...moduleWith([0x05, 0x06, 0x01, 0x01, 0xac, 0x02, 0x80, 0x20])]);
    expect(WebAssembly.validate(out as Uint8Array<ArrayBuffer>)).toBe(true);
    // The default max_memory (256 MiB) on a module whose min is 1 page.
    const small = limitMemory(moduleWith([0x05, 0x03, 0x01, 0x00, 0x01]), 256 * MiB);
    expect([...small]).toEqual([...moduleWith([0x05, 0x05, 0x01, 0x01, 0x01, 0x80, 0x20])]);
  });

  test("a minimum equal to the cap is accepted", () => {
    const out = limitMemory(moduleWith([0x05, 0x03, 0x01, 0x00, 0x03]), 3 * PAGE);
    expect([...out]).toEqual([...moduleWith([0x05, 0x04, 0x01, 0x01, 0x03, 0x03])]);
  });

  test("a minimum over the cap throws ModuleError", () => {
    expect(() => limitMemory(moduleWith([0x05, 0x03, 0x01, 0x00, 0x04]), 3 * PAGE)).toThrow(ModuleError);
    expect(() => limitMemory(moduleWith([0x05, 0x04, 0x01, 0x01, 0x04, 0x10]), 3 * PAGE)).toThrow(/max_memory/);
    // The rounding down counts: 3.9 pages allow 3.
    expect(() => limitMemory(moduleWith([0x05, 0x03, 0x01, 0x00, 0x04]), 4 * PAGE - 1)).toThrow(ModuleError);
  });

  test("shared (threads) and 64-bit memories are refused", () => {
    expect(() => limitMemory(moduleWith([0x05, 0x04, 0x01, 0x03, 0x01, 0x02]), 3 * PAGE)).toThrow(ModuleError);
    expect(() => limitMemory(moduleWith([0x05, 0x03, 0x01, 0x04, 0x01]), 3 * PAGE)).toThrow(ModuleError);
  });

  test("a truncated memory section is a ModuleError, not a crash", () => {
    expect(() => limitMemory(bytes(HEADER, [0x05, 0x02, 0x01, 0x00]), 3 * PAGE)).toThrow(ModuleError);
  });

  test("a module without a memory is returned unchanged (the same bytes)", () => {
    const module = bytes(HEADER, TYPE, FUNC, [0x07, 0x0a, 0x01, ...name("_start"), 0x00, 0x00], CODE);
    expect(WebAssembly.validate(module)).toBe(true);
    expect(limitMemory(module, 3 * PAGE)).toBe(module);
    const empty = Uint8Array.from(HEADER);
    expect(limitMemory(empty, PAGE)).toBe(empty);
  });

  test("a custom section that looks like a memory section is skipped by its size", () => {
    // Custom section "x" whose payload is the bytes of a memory section.
    const custom = section(0, [...name("x"), 0x05, 0x03, 0x01, 0x00, 0x09]);
    const module = bytes(HEADER, custom, TYPE, FUNC, [0x05, 0x03, 0x01, 0x00, 0x01], EXPORTS, CODE);
    const out = limitMemory(module, 3 * PAGE);
    expect([...out]).toEqual([...bytes(HEADER, custom, TYPE, FUNC, [0x05, 0x04, 0x01, 0x01, 0x01, 0x03], EXPORTS, CODE)]);
  });

  test("the rewritten module compiles, and memory.grow past the cap fails inside the engine", async () => {
    const original = buildModule({ memory: { min: 1 }, growFunctions: true });
    const capped = limitMemory(original, 4 * PAGE);
    const { instance } = await WebAssembly.instantiate(capped as Uint8Array<ArrayBuffer>);
    const grow = instance.exports.grow as (pages: number) => number;
    const size = instance.exports.size as (unused: number) => number;
    const memory = instance.exports.memory as WebAssembly.Memory;
    expect(size(0)).toBe(1);
    expect(grow(2)).toBe(1); // the old size
    expect(grow(1)).toBe(3);
    expect(size(0)).toBe(4);
    // At the cap: memory.grow answers -1 and nothing changes.
    expect(grow(1)).toBe(-1);
    expect(grow(1000)).toBe(-1);
    expect(size(0)).toBe(4);
    expect(memory.buffer.byteLength).toBe(4 * PAGE);
    // From the outside too.
    expect(() => memory.grow(1)).toThrow(RangeError);

    // The same module without the cap grows on: the limit is the rewrite's doing.
    const free = (await WebAssembly.instantiate(original as Uint8Array<ArrayBuffer>)).instance;
    expect((free.exports.grow as (pages: number) => number)(10)).toBe(1);
  });

  test("a declared maximum below the cap still holds after the rewrite", async () => {
    const capped = limitMemory(buildModule({ memory: { min: 1, max: 2 }, growFunctions: true }), 64 * PAGE);
    const { instance } = await WebAssembly.instantiate(capped as Uint8Array<ArrayBuffer>);
    const grow = instance.exports.grow as (pages: number) => number;
    expect(grow(1)).toBe(1);
    expect(grow(1)).toBe(-1);
  });

  test("the example modules get a cap and stay valid", () => {
    for (const file of ["hello.wasm", "probe.wasm"]) {
      const original = new Uint8Array(readFileSync(join(import.meta.dirname, "../examples/wasi", file)));
      const capped = limitMemory(original, 64 * MiB);
      expect(WebAssembly.validate(capped as Uint8Array<ArrayBuffer>), file).toBe(true);
      const memory = WebAssembly.Module.exports(new WebAssembly.Module(capped as Uint8Array<ArrayBuffer>)).find((e) => e.kind === "memory");
      expect(memory, file).toBeDefined();
    }
  });
});

// ---------------------------------------------------------------------------

interface ProbeRun {
  /** The exit status: 0 when _start returned, else proc_exit's. */
  code: number;
  stdout: Buffer;
  stderr: Buffer;
  /** The `max` of each readStdin call, and how many bytes it answered. */
  reads: { max: number; got: number }[];
}

/** An io over in-memory buffers: stdin handed out at most `chunk` bytes at a time. */
function memoryIo(stdin: Uint8Array, chunk = Infinity) {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const reads: { max: number; got: number }[] = [];
  let at = 0;
  const io: WasiIo = {
    readStdin(max) {
      const piece = stdin.slice(at, at + Math.min(max, chunk));
      at += piece.byteLength;
      reads.push({ max, got: piece.byteLength });
      return piece;
    },
    writeStdout: (b) => void out.push(b.slice()),
    writeStderr: (b) => void err.push(b.slice()),
  };
  return { io, out, err, reads };
}

describe("the WASI preview1 host (host.ts), in this thread", () => {
  let probe: WebAssembly.Module;

  beforeAll(async () => {
    probe = await WebAssembly.compile(readFileSync(PROBE));
  });

  /** Runs the probe with these arguments and variables, as a worker thread would. */
  function runProbe(args: string[], env: Record<string, string>, stdin = new Uint8Array(0), chunk?: number): ProbeRun {
    const strings = new Uint8Array(64 * 1024);
    const { length, argc, envc } = encodeStrings(args, env, strings);
    const { io, out, err, reads } = memoryIo(stdin, chunk);
    let memory: WebAssembly.Memory | undefined;
    const imports = wasiImports({ strings: strings.subarray(0, length), argc, envc, io }, () => memory!);
    const instance = new WebAssembly.Instance(probe, { wasi_snapshot_preview1: imports });
    memory = instance.exports.memory as WebAssembly.Memory;
    let code = 0;
    try {
      (instance.exports._start as () => void)();
    } catch (e) {
      if (!(e instanceof WasiExit)) throw e;
      code = e.code;
    }
    return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err), reads };
  }

  function body(run: ProbeRun): string {
    const text = run.stdout.toString("utf8");
    const end = text.indexOf("\r\n\r\n");
    expect(end, text.slice(0, 200)).toBeGreaterThan(0);
    return text.slice(end + 4);
  }

  test("/env: the arguments, the environment and stdin's length", () => {
    const run = runProbe(["/probe"], { PATH_INFO: "/env", REQUEST_METHOD: "GET" });
    expect(run.code).toBe(0);
    expect(run.stdout.toString()).toMatch(/^Content-Type: text\/plain\r\n\r\n/);
    expect(body(run)).toBe("argv[0]=/probe\nenv:PATH_INFO=/env\nenv:REQUEST_METHOD=GET\nstdin=0\n");
    expect(run.stderr.length).toBe(0);
  });

  test("arguments and variables arrive in order, byte for byte, UTF-8 included", () => {
    const args = ["/probe", "two words", "-s", "caf\u00e9 \u2713", ""];
    const env = { PATH_INFO: "/env", EMPTY: "", EQUALS: "a=b=c", UTF8: "\u00fcn\u00ef \u2713" };
    const lines = body(runProbe(args, env)).split("\n");
    expect(lines.filter((l) => l.startsWith("argv["))).toEqual(args.map((a, i) => `argv[${i}]=${a}`));
    expect(lines.filter((l) => l.startsWith("env:"))).toEqual(Object.entries(env).map(([k, v]) => `env:${k}=${v}`));
  });

  test("no arguments and no variables: the probe's defaults", () => {
    const run = runProbe([], {});
    // Without PATH_INFO the probe runs /env.
    expect(body(run)).toBe("stdin=0\n");
  });

  test("stdin in short reads (7 bytes at most a call) arrives whole: /echo", () => {
    const input = Uint8Array.from({ length: 200_003 }, (_, i) => (i * 31 + 7) & 0xff);
    const run = runProbe(["/probe"], { PATH_INFO: "/echo" }, input, 7);
    expect(run.code).toBe(0);
    const echoed = run.stdout.subarray(run.stdout.indexOf("\r\n\r\n") + 4);
    expect(echoed.length).toBe(input.length);
    expect(Buffer.compare(echoed, Buffer.from(input))).toBe(0);
    // Every answer was short, and the module asked again: it read to the end of stdin.
    expect(run.reads.length).toBeGreaterThan(input.length / 7);
    expect(run.reads.every((r) => r.got <= 7)).toBe(true);
    expect(run.reads.at(-1)!.got).toBe(0);
  });

  test("stdin counted by getchar in short reads: /env", () => {
    const input = new Uint8Array(100_000).fill(0x61);
    expect(body(runProbe(["/probe"], { PATH_INFO: "/env" }, input, 1000))).toBe("argv[0]=/probe\nenv:PATH_INFO=/env\nstdin=100000\n");
  });

  test("proc_exit ends the run with WasiExit and its status: /exit3", () => {
    const run = runProbe(["/probe"], { PATH_INFO: "/exit3" });
    expect(run.code).toBe(3);
    expect(run.stdout.length).toBe(0);
  });

  test("stderr is its own stream: /stderr", () => {
    const run = runProbe(["/probe"], { PATH_INFO: "/stderr" });
    expect(run.code).toBe(0);
    expect(run.stderr.toString()).toBe("a line for the log\n");
    expect(body(run)).toBe("ok\n");
  });

  test("no host file is reachable: every path is refused (no preopened directory)", () => {
    const text = body(runProbe(["/probe"], { PATH_INFO: "/files" }));
    expect(text).toBe(
      ["/etc/passwd", "../../etc/passwd", "etc/passwd", "."].map((p) => `${p}: Capabilities insufficient\n`).join(""),
    );
  });

  test("a trap is a WebAssembly.RuntimeError out of _start, not a WasiExit", () => {
    expect(() => runProbe(["/probe"], { PATH_INFO: "/trap" })).toThrow(WebAssembly.RuntimeError);
  });

  test("/cookies: the CGI head as the module prints it", () => {
    const run = runProbe(["/probe"], { PATH_INFO: "/cookies" });
    expect(run.stdout.toString()).toBe(
      "Status: 201 Made\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nSet-Cookie: c=3\r\n\r\ncookies\n",
    );
  });

  describe("the import functions called directly, over a memory of their own", () => {
    function setUp(args: string[], env: Record<string, string>, stdin = new Uint8Array(0), chunk?: number, more: { pages?: number; volumes?: Volume[] } = {}) {
      const strings = new Uint8Array(4096);
      const { length, argc, envc } = encodeStrings(args, env, strings);
      const state = memoryIo(stdin, chunk);
      const memory = new WebAssembly.Memory({ initial: more.pages ?? 4 });
      const imports = wasiImports({ strings: strings.subarray(0, length), argc, envc, io: state.io, volumes: more.volumes }, () => memory);
      const call = (fn: string, ...params: (number | bigint)[]) => (imports[fn] as unknown as (...p: (number | bigint)[]) => unknown)(...params);
      const view = () => new DataView(memory.buffer);
      const mem = () => new Uint8Array(memory.buffer);
      return { ...state, memory, imports, call, view, mem };
    }

    test("args_sizes_get / args_get / environ_sizes_get / environ_get", () => {
      const { call, view, mem } = setUp(["/a", "bc"], { X: "1", YY: "\u00e9" });
      expect(call("args_sizes_get", 0, 4)).toBe(Errno.SUCCESS);
      expect([view().getUint32(0, true), view().getUint32(4, true)]).toEqual([2, 6]); // "/a\0bc\0"
      expect(call("args_get", 100, 200)).toBe(Errno.SUCCESS);
      expect([view().getUint32(100, true), view().getUint32(104, true)]).toEqual([200, 203]);
      expect(Buffer.from(mem().subarray(200, 206)).toString("latin1")).toBe("/a\0bc\0");
      expect(call("environ_sizes_get", 0, 4)).toBe(Errno.SUCCESS);
      expect([view().getUint32(0, true), view().getUint32(4, true)]).toEqual([2, 4 + 6]); // "X=1\0YY=é\0" (é is 2 bytes)
      expect(call("environ_get", 300, 400)).toBe(Errno.SUCCESS);
      expect([view().getUint32(300, true), view().getUint32(304, true)]).toEqual([400, 404]);
      expect(Buffer.from(mem().subarray(400, 410)).toString("utf8")).toBe("X=1\0YY=\u00e9\0");
    });

    test("fd_read: a short read ends the call; a full iovec goes on to the next; 0 at the end", () => {
      const input = Uint8Array.from("abcdefghijklmnop", (c) => c.charCodeAt(0));
      const { call, view, mem, reads } = setUp([], {}, input, 3);
      // Two iovecs of 8 bytes at 1000 and 2000.
      const iovs = (a: number, b: number) => {
        view().setUint32(16, 1000, true);
        view().setUint32(20, a, true);
        view().setUint32(24, 2000, true);
        view().setUint32(28, b, true);
      };
      iovs(8, 8);
      expect(call("fd_read", 0, 16, 2, 40)).toBe(Errno.SUCCESS);
      expect(view().getUint32(40, true)).toBe(3);
      expect(reads).toEqual([{ max: 8, got: 3 }]); // the second iovec was not asked for
      expect(Buffer.from(mem().subarray(1000, 1003)).toString()).toBe("abc");
      // iovecs of 3 bytes: each is filled, so the call goes on to the next.
      iovs(3, 3);
      expect(call("fd_read", 0, 16, 2, 40)).toBe(Errno.SUCCESS);
      expect(view().getUint32(40, true)).toBe(6);
      expect(Buffer.from(mem().subarray(1000, 1003)).toString() + Buffer.from(mem().subarray(2000, 2003)).toString()).toBe("defghi");
      // Drain, then the end of stdin: 0 bytes read, success.
      iovs(64, 64);
      for (let i = 0; i < 3; i++) call("fd_read", 0, 16, 2, 40);
      expect(call("fd_read", 0, 16, 2, 40)).toBe(Errno.SUCCESS);
      expect(view().getUint32(40, true)).toBe(0);
      // Only stdin can be read.
      expect(call("fd_read", 1, 16, 2, 40)).toBe(Errno.BADF);
      expect(call("fd_read", 3, 16, 2, 40)).toBe(Errno.BADF);
    });

    test("fd_write: stdout and stderr only, every iovec, the count written", () => {
      const { call, view, mem, out, err } = setUp([], {});
      mem().set(Buffer.from("hello world"), 1000);
      view().setUint32(16, 1000, true);
      view().setUint32(20, 5, true);
      view().setUint32(24, 1005, true);
      view().setUint32(28, 6, true);
      expect(call("fd_write", 1, 16, 2, 40)).toBe(Errno.SUCCESS);
      expect(view().getUint32(40, true)).toBe(11);
      expect(Buffer.concat(out).toString()).toBe("hello world");
      // A copy: the module may reuse its buffer at once.
      mem().fill(0, 1000, 1011);
      expect(Buffer.concat(out).toString()).toBe("hello world");
      mem().set(Buffer.from("oops!"), 1000);
      expect(call("fd_write", 2, 16, 1, 40)).toBe(Errno.SUCCESS);
      expect(view().getUint32(40, true)).toBe(5);
      expect(Buffer.concat(err).toString()).toBe("oops!");
      expect(Buffer.concat(out).toString()).toBe("hello world");
      expect(call("fd_write", 0, 16, 1, 40)).toBe(Errno.BADF);
      expect(call("fd_write", 3, 16, 1, 40)).toBe(Errno.BADF);
    });

    test("proc_exit throws WasiExit with the status", () => {
      const { call } = setUp([], {});
      let thrown: unknown;
      try {
        call("proc_exit", 7);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(WasiExit);
      expect((thrown as WasiExit).code).toBe(7);
    });

    test("unknown and unprovided preview1 functions answer ENOSYS (52)", () => {
      const { call } = setUp([], {});
      expect(Errno.NOSYS).toBe(52);
      for (const fn of ["path_unlink_file", "path_create_directory", "poll_oneoff", "sock_accept", "sock_recv", "proc_raise", "no_such_function"]) {
        expect(call(fn, 0, 0, 0, 0), fn).toBe(52);
      }
    });

    test("without volumes, the file functions find no directory to work in: EBADF", () => {
      const { call } = setUp([], {});
      for (const fn of ["path_open", "path_filestat_get", "fd_readdir", "fd_filestat_get"]) expect(call(fn, 3, 0, 0, 0), fn).toBe(Errno.BADF);
    });

    test("no preopened directory: fd_prestat_get is EBADF from fd 3 on", () => {
      const { call } = setUp([], {});
      for (const fd of [3, 4, 100]) expect(call("fd_prestat_get", fd, 0)).toBe(Errno.BADF);
    });

    test("clocks and randomness", () => {
      const { call, view, mem } = setUp([], {});
      expect(call("clock_time_get", 0, 1n, 8)).toBe(Errno.SUCCESS);
      const realtime = Number(view().getBigUint64(8, true) / 1_000_000n);
      expect(Math.abs(realtime - Date.now())).toBeLessThan(60_000);
      expect(call("clock_time_get", 1, 1n, 8)).toBe(Errno.SUCCESS);
      expect(call("clock_time_get", 99, 1n, 8)).toBe(Errno.INVAL);
      expect(call("clock_res_get", 1, 8)).toBe(Errno.SUCCESS);
      expect(call("clock_res_get", 99, 8)).toBe(Errno.INVAL);
      // More than getRandomValues' 65536 bytes a call.
      expect(call("random_get", 0, 150_000)).toBe(Errno.SUCCESS);
      expect(mem().subarray(0, 1000).some((b) => b !== 0)).toBe(true);
      expect(mem().subarray(149_000, 150_000).some((b) => b !== 0)).toBe(true);
      expect(mem().subarray(150_000, 151_000).every((b) => b === 0)).toBe(true);
    });

    test("encodeStrings refuses what does not fit its buffer", () => {
      expect(() => encodeStrings(["x".repeat(100)], {}, new Uint8Array(50))).toThrow(/over 50 bytes/);
      const into = new Uint8Array(64);
      expect(encodeStrings(["a"], { B: "c" }, into)).toEqual({ length: 6, argc: 1, envc: 1 });
      expect(Buffer.from(into.subarray(0, 6)).toString()).toBe("a\0B=c\0");
    });

    describe("every count, length and pointer is checked before the host does anything with it", () => {
      /** Writes an iovec list at `at`: [buf, len] pairs. */
      const putIovecs = (view: DataView, at: number, list: [number, number][]) =>
        list.forEach(([buf, len], i) => {
          view.setUint32(at + i * 8, buf, true);
          view.setUint32(at + i * 8 + 4, len, true);
        });
      const END = 4 * PAGE; // setUp's memory: 4 pages

      test("fd_write with more than IOV_MAX (1024) iovecs is EINVAL, whatever the count's sign; 1024 are written", () => {
        const { call, view, mem, out } = setUp([], {});
        mem().set(Buffer.from("x"), 9000);
        putIovecs(view(), 16, Array.from({ length: IOV_MAX }, () => [9000, 1]));
        expect(call("fd_write", 1, 16, IOV_MAX + 1, 8)).toBe(Errno.INVAL);
        expect(call("fd_write", 1, 16, 0x7fffffff, 8)).toBe(Errno.INVAL);
        expect(call("fd_write", 1, 16, -1, 8)).toBe(Errno.INVAL);
        expect(out).toEqual([]);
        expect(call("fd_write", 1, 16, IOV_MAX, 8)).toBe(Errno.SUCCESS);
        expect(view().getUint32(8, true)).toBe(IOV_MAX);
        expect(Buffer.concat(out).toString()).toBe("x".repeat(IOV_MAX));
      });

      test("fd_write: an iovec list, a buffer or the result outside memory is EFAULT, and nothing is written", () => {
        const { call, view, out, err } = setUp([], {});
        putIovecs(view(), 16, [[100, 5], [END - 4, 5]]);
        expect(call("fd_write", 1, 16, 2, 8)).toBe(Errno.FAULT); // the second buffer ends past memory
        expect(call("fd_write", 1, END - 8, 2, 8)).toBe(Errno.FAULT); // the list does
        expect(call("fd_write", 2, 16, 1, END - 2)).toBe(Errno.FAULT); // the result would
        expect(call("fd_write", 1, 16, 1, -8)).toBe(Errno.FAULT); // an address over 2 GiB, negative as an i32
        putIovecs(view(), 16, [[0x80000000, 1]]);
        expect(call("fd_write", 1, 16, 1, 8)).toBe(Errno.FAULT);
        expect([out, err]).toEqual([[], []]);
      });

      test("one fd_write moves at most MAX_RW_COUNT bytes: a short write, its count a positive ssize_t", () => {
        const memory = new WebAssembly.Memory({ initial: 48 });
        let given = 0;
        const io: WasiIo = { readStdin: () => new Uint8Array(0), writeStdout: () => undefined, writeStderr: (b) => void (given += b.byteLength) };
        const imports = wasiImports({ strings: new Uint8Array(0), argc: 0, envc: 0, io }, () => memory) as Record<string, (...p: number[]) => number>;
        const view = new DataView(memory.buffer);
        // 1024 iovecs of the whole 3 MiB memory: 3 GiB asked.
        putIovecs(view, 0, Array.from({ length: IOV_MAX }, () => [0, 48 * PAGE]));
        expect(imports.fd_write!(2, 0, IOV_MAX, 8)).toBe(Errno.SUCCESS);
        expect(view.getInt32(8, true)).toBe(MAX_RW_COUNT);
        expect(given).toBe(MAX_RW_COUNT);
      });

      test("fd_read from stdin: the same checks, and stdin is not consumed by a refused call", () => {
        const { call, view, mem, reads } = setUp([], {}, Uint8Array.from([1, 2, 3]));
        putIovecs(view(), 16, [[1000, 3], [END, 1]]);
        expect(call("fd_read", 0, 16, IOV_MAX + 1, 8)).toBe(Errno.INVAL);
        expect(call("fd_read", 0, 16, 2, 8)).toBe(Errno.FAULT);
        expect(call("fd_read", 0, 16, 1, END)).toBe(Errno.FAULT);
        expect(reads).toEqual([]);
        expect(call("fd_read", 0, 16, 1, 8)).toBe(Errno.SUCCESS);
        expect([...mem().subarray(1000, 1003)]).toEqual([1, 2, 3]);
      });

      test("arguments, environment, clocks, randomness and stat results outside memory are EFAULT, memory untouched", () => {
        const { call, mem } = setUp(["/a", "bc"], { X: "1" });
        const before = Buffer.from(mem());
        expect(call("args_get", END - 4, 0)).toBe(Errno.FAULT); // two pointers need 8 bytes
        expect(call("args_get", 0, END - 5)).toBe(Errno.FAULT); // "/a\0bc\0" needs 6
        expect(call("environ_get", -4, 0)).toBe(Errno.FAULT);
        expect(call("args_sizes_get", 0, END)).toBe(Errno.FAULT);
        expect(call("environ_sizes_get", END, 0)).toBe(Errno.FAULT);
        expect(call("clock_time_get", 0, 1n, END - 4)).toBe(Errno.FAULT);
        expect(call("clock_res_get", 0, END)).toBe(Errno.FAULT);
        expect(call("random_get", END - 10, 11)).toBe(Errno.FAULT);
        expect(call("random_get", 0, -1)).toBe(Errno.FAULT);
        expect(call("fd_fdstat_get", 1, END - 23)).toBe(Errno.FAULT);
        expect(call("fd_filestat_get", 1, END - 63)).toBe(Errno.FAULT);
        expect(Buffer.compare(Buffer.from(mem()), before)).toBe(0);
        // At the very end, exactly: fine.
        expect(call("args_get", END - 8, END - 14)).toBe(Errno.SUCCESS);
      });

      test("files: a path over PATH_MAX is ENAMETOOLONG, a path or result outside memory EFAULT; a made-up readdir cookie lists nothing", () => {
        const volumes: Volume[] = [{ guestPath: "/data", root: { kind: "dir", entries: { "a.txt": { kind: "file", bytes: Uint8Array.from([7]), mtimeMs: 0 } } } }];
        const { call, view, mem } = setUp([], {}, new Uint8Array(0), undefined, { volumes });
        mem().set(Buffer.from("a.txt"), 100);
        expect(call("path_open", 3, 0, 100, PATH_MAX + 1, 0, 0n, 0n, 0, 8)).toBe(Errno.NAMETOOLONG);
        expect(call("path_open", 3, 0, 100, -1, 0, 0n, 0n, 0, 8)).toBe(Errno.NAMETOOLONG);
        expect(call("path_open", 3, 0, END - 2, 5, 0, 0n, 0n, 0, 8)).toBe(Errno.FAULT);
        expect(call("path_open", 3, 0, 100, 5, 0, 0n, 0n, 0, END)).toBe(Errno.FAULT);
        expect(call("path_filestat_get", 3, 0, 100, 5, END - 8)).toBe(Errno.FAULT);
        expect(call("fd_prestat_get", 3, END - 4)).toBe(Errno.FAULT);
        expect(call("fd_prestat_dir_name", 3, END - 2, 5)).toBe(Errno.FAULT);
        expect(call("fd_readdir", 3, END - 10, 64, 0n, 8)).toBe(Errno.FAULT);
        // The refused path_open opened nothing: the next descriptor is still 4.
        expect(call("path_open", 3, 0, 100, 5, 0, 0n, 0n, 0, 8)).toBe(Errno.SUCCESS);
        expect(view().getUint32(8, true)).toBe(4);
        expect(call("fd_seek", 4, 0n, 0, END)).toBe(Errno.FAULT);
        expect(call("fd_tell", 4, END - 7)).toBe(Errno.FAULT);
        putIovecs(view(), 16, [[200, 1]]);
        expect(call("fd_read", 4, 16, IOV_MAX + 1, 8)).toBe(Errno.INVAL);
        expect(call("fd_read", 4, 16, 1, 8)).toBe(Errno.SUCCESS);
        expect(mem()[200]).toBe(7);
        // A cookie of -1 (u64 max) is past the end: nothing, not entries before the start.
        expect(call("fd_readdir", 3, 1000, 256, -1n, 8)).toBe(Errno.SUCCESS);
        expect(view().getUint32(8, true)).toBe(0);
      });
    });
  });
});

// Exported helpers of the fixture are exercised through the modules above; this one checks the LEB128 writer itself.
test("the fixture's LEB128 writer", () => {
  expect(leb(0)).toEqual([0]);
  expect(leb(127)).toEqual([0x7f]);
  expect(leb(128)).toEqual([0x80, 0x01]);
  expect(leb(4096)).toEqual([0x80, 0x20]);
  expect(sleb(0)).toEqual([0]);
  expect(sleb(63)).toEqual([0x3f]);
  expect(sleb(64)).toEqual([0xc0, 0x00]);
  expect(sleb(-1)).toEqual([0x7f]);
  expect(sleb(0x7fffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x07]);
});

// ---------------------------------------------------------------------------

describe("importMemory (memory-limit.ts)", () => {
  const TYPE = [0x01, 0x04, 0x01, 0x60, 0x00, 0x00];
  const FUNC = [0x03, 0x02, 0x01, 0x00];
  const EXPORTS = [0x07, 0x13, 0x02, ...name("memory"), 0x02, 0x00, ...name("_start"), 0x00, 0x00];
  const CODE = [0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b];

  test("a module without imports gets an import section right after its types, holding env.memory (golden bytes)", () => {
    const memory = [0x05, 0x04, 0x01, 0x01, 0x02, 0x08]; // one memory: min 2, max 8
    const result = importMemory(bytes(HEADER, TYPE, FUNC, memory, EXPORTS, CODE))!;
    const imports = section(0x02, [0x01, ...name("env"), ...name("memory"), 0x02, 0x01, 0x02, 0x08]);
    expect(result.bytes).toEqual(bytes(HEADER, TYPE, imports, FUNC, EXPORTS, CODE));
    expect([result.initial, result.maximum]).toEqual([2, 8]);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(result.bytes as Uint8Array<ArrayBuffer>), {
      env: { memory: new WebAssembly.Memory({ initial: 2, maximum: 8 }) },
    });
    expect((instance.exports.memory as WebAssembly.Memory).buffer.byteLength).toBe(2 * PAGE);
  });

  test("a memory without a maximum (limitMemory not applied) is left defined", () => {
    expect(importMemory(bytes(HEADER, TYPE, FUNC, [0x05, 0x03, 0x01, 0x00, 0x02], EXPORTS, CODE))).toBeNull();
  });

  test("probe.wasm, capped and then importing its memory, runs with a memory handed to it and the same answer", () => {
    const capped = limitMemory(new Uint8Array(readFileSync(PROBE)), 64 * MiB);
    const result = importMemory(capped)!;
    const module = new WebAssembly.Module(result.bytes as Uint8Array<ArrayBuffer>);
    expect(WebAssembly.Module.imports(module)).toContainEqual({ module: "env", name: "memory", kind: "memory" });
    const memory = new WebAssembly.Memory({ initial: result.initial, maximum: result.maximum });
    const out: Uint8Array[] = [];
    const io: WasiIo = { readStdin: () => new Uint8Array(0), writeStdout: (b) => void out.push(b.slice()), writeStderr: () => undefined };
    const into = new Uint8Array(4096);
    const { length, argc, envc } = encodeStrings(["/p"], { PATH_INFO: "/cookies" }, into);
    const imports = wasiImports({ strings: into.subarray(0, length), argc, envc, io }, () => memory);
    const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: imports, env: { memory } });
    try {
      (instance.exports._start as () => void)();
    } catch (err) {
      if (!(err instanceof WasiExit)) throw err;
    }
    expect(Buffer.concat(out).toString()).toContain("Set-Cookie: c=3");
    expect(instance.exports.memory).toBe(memory);
  });
});

describe("a module bundled with the runtime (Runtime.wasmModules, for runtimes without files)", () => {
  test("a wasi route whose module names a bundled one runs it, with no file system at all", async () => {
    const module = new WebAssembly.Module(readFileSync(join(import.meta.dirname, "../examples/wasi/hello.wasm")));
    const { fs: _fs, ...withoutFiles } = nodeRuntime;
    const runtime: Runtime = { ...withoutFiles, wasmModules: new Map([["hello", module]]), logError: () => undefined, logAccess: () => undefined };
    const text = await withRoute(runtime, { module: "hello", threads: 1 }, async (app) => (await app.request("http://localhost/")).text());
    expect(text).toBe("Hello, world!\n");
  });

  test("a name that is not bundled, on a runtime without files, stops the route's setup naming it", async () => {
    const { fs: _fs, ...withoutFiles } = nodeRuntime;
    const runtime: Runtime = { ...withoutFiles, wasmModules: new Map(), logError: () => undefined, logAccess: () => undefined };
    const handler = createGateway("wasi", runtime, { module: "missing" });
    await expect(handler.ready).rejects.toThrow(/"missing" is not among the modules bundled/);
    await handler.close();
  });
});

describe("fixes found in review", () => {
  test("closing a wasi route ends its threads and starts none in their place", async () => {
    let live = 0;
    const runtime = withThreads((thread) => {
      live++;
      thread.onExit(() => live--);
      return thread;
    });
    const handler = createGateway("wasi", runtime, { module: join(import.meta.dirname, "../examples/wasi/hello.wasm"), threads: 2 });
    await handler.ready;
    expect(live).toBe(2);
    await handler.close();
    await new Promise((r) => setTimeout(r, 200));
    expect(live).toBe(0);
  });

  test("a thread that died is given no request while its successor waits out the back-off: 503, then served", async () => {
    const threads: WorkerThread[] = [];
    const runtime = withThreads((thread) => {
      threads.push(thread);
      return thread;
    });
    await withRoute(runtime, { module: PROBE, threads: 1, timeout: "10s" }, async (app) => {
      // Threads that end within a second of their start: from the second on, the next one
      // starts after a back-off (400 ms, then longer). Ended until one is held back.
      for (let ended = 0; ended < 6; ended++) {
        await threads.at(-1)!.terminate();
        await new Promise((r) => setTimeout(r, 50));
        if (threads.length === ended + 1) break;
      }
      const count = threads.length;
      const during = await app.request("http://localhost/env");
      // Still held back while it was answered (else the test proves nothing), and refused.
      expect({ status: during.status, heldBack: threads.length === count }).toEqual({ status: 503, heldBack: true });
      expect(during.headers.get("retry-after")).toMatch(/^\d+$/);
      while (threads.length === count) await new Promise((r) => setTimeout(r, 10));
      const after = await app.request("http://localhost/env");
      expect(after.status).toBe(200);
      expect(await after.text()).toContain("PATH_INFO=/env");
    });
  });

  test("fstat on stdin, stdout and stderr succeeds (CPython's startup treats EBADF as fatal)", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const into = new Uint8Array(64);
    const { length, argc, envc } = encodeStrings([], {}, into);
    const io: WasiIo = { readStdin: () => new Uint8Array(0), writeStdout: () => undefined, writeStderr: () => undefined };
    const imports = wasiImports({ strings: into.subarray(0, length), argc, envc, io }, () => memory) as Record<string, (...a: number[]) => number>;
    new Uint8Array(memory.buffer).fill(0xff, 0, 64);
    for (const fd of [0, 1, 2]) expect(imports.fd_filestat_get!(fd, 0)).toBe(Errno.SUCCESS);
    expect([...new Uint8Array(memory.buffer, 0, 64)].every((b) => b === 0)).toBe(true);
  });

  test("a symlink back up a volume's tree is read once, not forever", async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "postern-volume-loop-"));
    try {
      mkdirSync(join(dir, "sub"));
      writeFileSync(join(dir, "sub", "a.txt"), "a");
      symlinkSync("../sub", join(dir, "sub", "loop"));
      const volume = await readVolume(nodeRuntime.fs, "/data", dir, { left: 1024 * 1024 });
      const sub = volume.root.entries.sub!;
      expect(sub.kind).toBe("dir");
      expect(Object.keys((sub as { entries: Record<string, unknown> }).entries)).toEqual(["a.txt"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("output of a module that computes after a write (threads.ts claims the write held back)", () => {
  /** A runtime whose threads' messages reach the gateway `delayMs` late, in order: a busy or slow message channel. */
  const slowMessages = (delayMs: number) =>
    withThreads((thread) => ({ ...thread, onMessage: (listener) => thread.onMessage((message) => setTimeout(listener, delayMs, message)) }));

  function pause(runtime: Runtime): Promise<{ status: number; type: string | null; body: string; headAfterMs: number; bodyAfterMs: number }> {
    return withRoute(runtime, { module: PROBE, threads: 1 }, async (app) => {
      const started = performance.now();
      const res = await app.request("http://localhost/pause?1500");
      const headAfterMs = performance.now() - started;
      const body = await res.text();
      return { status: res.status, type: res.headers.get("content-type"), body, headAfterMs, bodyAfterMs: performance.now() - started };
    });
  }

  test("a write claimed from shared memory never overtakes output posted before it, however late that arrives", async () => {
    // The module writes its head and a line, then computes for 1.5 s: the line is claimed from shared
    // memory while the head's messages are still on their way.
    const answer = await pause(slowMessages(100));
    expect(answer.status).toBe(200);
    expect(answer.type).toBe("text/plain");
    expect(answer.body).toBe("before\nafter\n");
  });

  test("what the module flushed reaches the client while it computes on", async () => {
    const answer = await pause(nodeRuntime);
    expect(answer.body).toBe("before\nafter\n");
    // The head comes with the flushed line, well before the 1.5 s of computing end.
    expect(answer.bodyAfterMs - answer.headAfterMs).toBeGreaterThan(750);
  });
});
