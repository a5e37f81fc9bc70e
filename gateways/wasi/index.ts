// The WASI gateway: runs a WebAssembly module (a WASI preview1 command) per
// request the CGI way, as WAGI does: CGI meta-variables as its environment,
// the request body on stdin, a CGI response on stdout, streamed both ways.
// The module is compiled once; each request gets a fresh instance in one of
// the route's worker threads, under a deadline and memory and output limits.

import type { Context } from "hono";
import { requestTarget } from "../../src/cgi/target.ts";
import { decodePath, hasForbiddenPathBytes } from "../../src/cgi/env.ts";
import { errorResponse } from "../../src/errors.ts";
import { readAllLimited } from "../../src/io/bytes.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { GatewayHandler, Router } from "../handler.ts";
import { ScriptGateway } from "../script/gateway.ts";
import type { WasiOptions } from "./options.ts";
import { importMemory, limitMemory, MEMORY_IMPORT } from "./memory-limit.ts";
import { WasiThreads } from "./threads.ts";
import { readVolume, type Volume } from "./volume.ts";

/** Largest module file read. */
const MAX_MODULE_BYTES = 256 * 1024 ** 2;

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
  #threads!: WasiThreads;
  /** The route pattern of the request being served: SCRIPT_NAME is its fixed part. */
  #routePaths = new WeakMap<Request, string>();

  constructor(runtime: Runtime, options: WasiOptions, name: string, router: Router | undefined) {
    super(runtime, options, name, router, options.threads);
    this.#options = options;
  }

  protected async setUp(): Promise<void> {
    const o = this.#options;
    const { module, memory } = await loadModule(this.runtime, o.module, o.max_memory, this.name);
    checkModule(module, o.entrypoint, memory !== undefined, this.name);
    const volumes: Volume[] = [];
    const budget = { left: o.max_volume_size };
    for (const [guest, host] of Object.entries(o.volumes)) {
      if (!this.runtime.fs) throw new Error(`${this.name}: volumes need a file system, which the ${this.runtime.name} runtime has not`);
      volumes.push(await readVolume(this.runtime.fs, guest, host, budget));
    }
    this.#threads = new WasiThreads(this.runtime, module, {
      threads: o.threads,
      entrypoint: o.entrypoint,
      maxOutput: o.max_output,
      volumes,
      ...(memory ? { memory } : {}),
    });
  }

  override serve(request: Request, env: unknown, routePath = "*"): Promise<Response> {
    this.#routePaths.set(request, routePath);
    return super.serve(request, env);
  }

  protected async route(request: Request, env: unknown): Promise<Response> {
    const target = requestTarget(request.url);
    const path = decodePath(target.pathname);
    if (path === null || hasForbiddenPathBytes(path)) return errorResponse(400);
    const { scriptName, pathInfo } = splitAtRoute(path, this.#routePaths.get(request) ?? "*");
    return this.call(request, env, {
      target,
      scriptName,
      pathInfo,
      // Only the script name: a query string never becomes arguments (CVE-2012-1823).
      argv: this.#options.argv ?? [scriptName || "/"],
      cwd: "/",
      nph: false,
      launcher: this.#threads,
      killGraceMs: 0,
    });
  }

  protected async tearDown(): Promise<void> {
    await this.#threads?.close();
  }
}

/**
 * SCRIPT_NAME and PATH_INFO for a module mounted at a route pattern, as WAGI
 * sets them: the pattern's fixed part ("/app" of "/app/*") is the script,
 * the rest of the path its PATH_INFO (RFC 3875 §4.1.5, §4.1.13).
 */
export function splitAtRoute(path: string, routePath: string): { scriptName: string; pathInfo: string } {
  const star = routePath.indexOf("*");
  let prefix = star < 0 ? routePath : routePath.slice(0, star);
  if (prefix.endsWith("/")) prefix = prefix.slice(0, -1);
  if (prefix.includes(":") || !path.startsWith(prefix)) return { scriptName: path, pathInfo: "" };
  return { scriptName: prefix, pathInfo: path.slice(prefix.length) };
}

/**
 * The module compiled, with its memory capped and, where it defines one,
 * imported instead (so that threads can hand instances a memory they kept).
 */
async function loadModule(
  runtime: Runtime,
  path: string,
  maxMemory: number,
  route: string,
): Promise<{ module: WebAssembly.Module; memory?: { initial: number; maximum: number } }> {
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
    if (!imported) return { module: await WebAssembly.compile(limited as Uint8Array<ArrayBuffer>) };
    const module = await WebAssembly.compile(imported.bytes as Uint8Array<ArrayBuffer>);
    return { module, memory: { initial: imported.initial, maximum: imported.maximum } };
  } catch (err) {
    throw new Error(`${route}: module ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
}

/**
 * A module this host can run: WASI preview1 imports only (and the memory
 * importMemory made it import), its memory and the entrypoint exported.
 */
function checkModule(module: WebAssembly.Module, entrypoint: string, importsMemory: boolean, route: string): void {
  for (const item of WebAssembly.Module.imports(module)) {
    if (importsMemory && item.kind === "memory" && item.module === MEMORY_IMPORT.module && item.name === MEMORY_IMPORT.name) continue;
    if (item.module !== "wasi_snapshot_preview1" || item.kind !== "function") {
      throw new Error(`${route}: the module imports ${item.module}.${item.name} (${item.kind}); only WASI preview1 functions are provided`);
    }
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get("memory") !== "memory") throw new Error(`${route}: the module exports no memory`);
  if (exports.get(entrypoint) !== "function") throw new Error(`${route}: the module exports no function ${JSON.stringify(entrypoint)} (entrypoint)`);
}
