// The WASI gateway: runs a WebAssembly module (a WASI preview1 command) per
// request the CGI way, as WAGI does: CGI meta-variables as its environment,
// the request body on stdin, a CGI response on stdout, streamed both ways.
// The module is compiled once; each request gets a fresh instance in one of
// the route's worker threads, under a deadline and memory and output limits.
// With `interpreter`, the module is an interpreter (ruby.ts) that runs the
// scripts of the route's root, each request's instance started from a
// snapshot of an initialized one (snapshot.ts).

import type { Context } from "hono";
import { requestTarget, type RequestTarget } from "../../src/cgi/target.ts";
import { errorResponse } from "../../src/errors.ts";
import { readAllLimited } from "../../src/io/bytes.ts";
import { safePath } from "../../src/paths.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { GatewayHandler, Router } from "../handler.ts";
import { splitAtRoute } from "../mount.ts";
import { clientTargetOf } from "../request-path.ts";
import { ScriptGateway } from "../script/gateway.ts";
import { interpreters, type Interpreter } from "./interpreter.ts";
import { findInVolume } from "./lookup.ts";
import type { MemoryImage } from "./messages.ts";
import { SCRIPT_ROOT, type WasiOptions } from "./options.ts";
import { takeSnapshot } from "./snapshot.ts";
import { importMemory, limitMemory, MEMORY_IMPORT } from "./memory-limit.ts";
import { InlineRunner } from "./inline.ts";
import { WasiThreads } from "./threads.ts";
import { readVolume, type Volume } from "./volume.ts";

/** Largest module file read. */
const MAX_MODULE_BYTES = 256 * 1024 ** 2;
/** Most output a run without threads may write (it is held whole before it is sent). */
const INLINE_MAX_OUTPUT = 32 * 1024 ** 2;

/** The handler for validated options (see gateways/index.ts). */
export function createWasi(runtime: Runtime, options: WasiOptions, name: string, router?: Router): GatewayHandler {
  const gateway = new WasiGateway(runtime, options, name, router);
  return Object.assign((c: Context) => gateway.serve(c.req.raw, c.env, c.req.routePath), {
    ready: gateway.ready,
    close: () => gateway.close(),
  });
}

class WasiGateway extends ScriptGateway {
  readonly #options: WasiOptions;
  readonly #interpreter: Interpreter | undefined;
  #launcher!: WasiThreads | InlineRunner;
  /** An interpreter route's scripts. */
  #scripts: Volume | undefined;
  /** The route pattern of the request being served: SCRIPT_NAME is its fixed part. */
  #routePaths = new WeakMap<Request, string>();

  constructor(runtime: Runtime, options: WasiOptions, name: string, router: Router | undefined) {
    super(runtime, options, name, router, options.threads);
    this.#options = options;
    this.#interpreter = options.interpreter === undefined ? undefined : interpreters[options.interpreter];
  }

  protected async setUp(): Promise<void> {
    const o = this.#options;
    const interpreter = this.#interpreter;
    const loaded = await loadModule(this.runtime, o.module, o.max_memory, this.name);
    checkModule(loaded.module, interpreter ?? o.entrypoint ?? "_start", loaded.memory !== undefined, this.name);
    const volumes: Volume[] = [];
    const budget = { left: o.max_volume_size };
    const directories = Object.entries(o.volumes);
    if (o.root !== undefined) directories.unshift([SCRIPT_ROOT, o.root]);
    for (const [guest, host] of directories) {
      if (!this.runtime.fs) throw new Error(`${this.name}: volumes need a file system, which the ${this.runtime.name} runtime has not`);
      volumes.push(await readVolume(this.runtime.fs, guest, host, budget));
    }
    if (o.root !== undefined) this.#scripts = volumes[0];
    let { module, memory } = loaded;
    let image: MemoryImage | undefined;
    if (interpreter && o.snapshot !== false && loaded.bytes && memory) {
      const log = (line: string) => this.runtime.logError(`${this.name}: ${line}`);
      try {
        ({ module, memory, image } = await takeSnapshot(loaded.bytes, memory, interpreter, volumes, log));
      } catch (err) {
        throw new Error(`${this.name}: initializing ${interpreter.name} for its snapshot failed: ${(err as Error).message}`);
      }
    }
    const setup = {
      module,
      program: interpreter ? { interpreter: interpreter.name } : { entrypoint: o.entrypoint ?? "_start" },
      volumes,
      ...(memory ? { memory } : {}),
      ...(image ? { image } : {}),
    };
    this.#launcher = this.runtime.startWorker
      ? new WasiThreads(this.runtime, { ...setup, threads: o.threads, maxOutput: o.max_output })
      : // No threads (workerd): the whole answer is held, so within a cap a Worker's memory can take.
        new InlineRunner({ ...setup, maxOutput: Math.min(o.max_output, INLINE_MAX_OUTPUT) });
  }

  override serve(request: Request, env: unknown, routePath = "*"): Promise<Response> {
    this.#routePaths.set(request, routePath);
    return super.serve(request, env);
  }

  protected async route(request: Request, env: unknown): Promise<Response> {
    // Run on this thread, a module reads its stdin from memory: a body is held whole, within max_buffered_body.
    if (this.#launcher instanceof InlineRunner && Number(request.headers.get("content-length") ?? 0) > this.#options.max_buffered_body) {
      return errorResponse(413);
    }
    const target = requestTarget(request.url, clientTargetOf(env));
    if (this.#interpreter) return this.#runScript(request, env, target, this.#interpreter);
    const safe = safePath(target.pathname);
    if (!safe.ok) return errorResponse(safe.status);
    const { scriptName, pathInfo } = splitAtRoute(safe.path, this.#routePaths.get(request) ?? "*");
    return this.call(request, env, {
      target,
      scriptName,
      pathInfo,
      // Only the script name: a query string never becomes arguments (CVE-2012-1823).
      argv: this.#options.argv ?? [scriptName || "/"],
      cwd: "/",
      nph: false,
      launcher: this.#launcher,
      killGraceMs: 0,
    });
  }

  /** An interpreter route: the script the path names in root, as the cgi gateway finds it. */
  #runScript(request: Request, env: unknown, target: RequestTarget, interpreter: Interpreter): Promise<Response> {
    const safe = safePath(target.pathname);
    if (!safe.ok) return Promise.resolve(errorResponse(safe.status));
    const found = findInVolume(this.#scripts!.root, safe.path, interpreter.extension, interpreter.index);
    if (!found.ok) return Promise.resolve(errorResponse(found.status));
    const scriptFilename = SCRIPT_ROOT + found.scriptName;
    return this.call(request, env, {
      target,
      scriptName: found.scriptName,
      pathInfo: found.pathInfo,
      documentRoot: SCRIPT_ROOT,
      scriptFilename,
      argv: [interpreter.name, scriptFilename],
      cwd: scriptFilename.slice(0, scriptFilename.lastIndexOf("/")),
      nph: false,
      launcher: this.#launcher,
      killGraceMs: 0,
    });
  }

  protected async tearDown(): Promise<void> {
    await this.#launcher?.close();
  }
}

interface LoadedModule {
  module: WebAssembly.Module;
  /** The limits of the memory it imports, when it was made to (see memory-limit.ts importMemory). */
  memory?: { initial: number; maximum: number };
  /** The bytes `module` was compiled from, when read from a file. */
  bytes?: Uint8Array;
}

/**
 * The module compiled, with its memory capped and, where it defines one,
 * imported instead (so that threads can hand instances a memory they kept).
 */
async function loadModule(runtime: Runtime, path: string, maxMemory: number, route: string): Promise<LoadedModule> {
  const bundled = runtime.wasmModules?.get(path);
  if (bundled) return { module: bundled };
  const fs = runtime.fs;
  if (!fs) throw new Error(`${route}: ${JSON.stringify(path)} is not among the modules bundled for ${runtime.name}, which reads no files`);
  const stat = await fs.stat(path);
  if (!stat?.isFile) throw new Error(`${route}: module ${JSON.stringify(path)} is not a file`);
  const bytes = await readAllLimited(fs.readStream(path), MAX_MODULE_BYTES, () => new Error(`${route}: module over 256 MiB`));
  try {
    const limited = limitMemory(bytes, maxMemory);
    const imported = importMemory(limited);
    if (!imported) return { module: await WebAssembly.compile(limited as Uint8Array<ArrayBuffer>), bytes: limited };
    const module = await WebAssembly.compile(imported.bytes as Uint8Array<ArrayBuffer>);
    return { module, memory: { initial: imported.initial, maximum: imported.maximum }, bytes: imported.bytes };
  } catch (err) {
    throw new Error(`${route}: module ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
}

/**
 * A module this host can run: WASI preview1 imports (and the memory
 * importMemory made it import, and an interpreter's own), its memory and
 * the entrypoint, or the interpreter's functions, exported.
 */
function checkModule(module: WebAssembly.Module, program: string | Interpreter, importsMemory: boolean, route: string): void {
  const interpreterImports = typeof program === "string" ? [] : Object.keys(program.imports(() => undefined as never));
  for (const item of WebAssembly.Module.imports(module)) {
    if (importsMemory && item.kind === "memory" && item.module === MEMORY_IMPORT.module && item.name === MEMORY_IMPORT.name) continue;
    if (interpreterImports.includes(item.module) && item.kind === "function") continue;
    if (item.module !== "wasi_snapshot_preview1" || item.kind !== "function") {
      throw new Error(`${route}: the module imports ${item.module}.${item.name} (${item.kind}); only WASI preview1 functions are provided`);
    }
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get("memory") !== "memory") throw new Error(`${route}: the module exports no memory`);
  const wanted = typeof program === "string" ? [program] : program.exports;
  for (const name of wanted) {
    if (exports.get(name) !== "function") {
      const what = typeof program === "string" ? "(entrypoint)" : `(is it ${program.name}?)`;
      throw new Error(`${route}: the module exports no function ${JSON.stringify(name)} ${what}`);
    }
  }
}
