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
import { setupError } from "../../src/check/problems.ts";
import { safePath } from "../../src/paths.ts";
import type { RouteStats } from "../../src/metrics/stats.ts";
import type { Runtime } from "../../src/runtime.ts";
import { wasiSetup } from "../checks/wasi.ts";
import type { GatewayHandler, Router } from "../handler.ts";
import { splitAtRoute } from "../mount.ts";
import { clientTargetOf } from "../request-path.ts";
import { ScriptGateway } from "../script/gateway.ts";
import { interpreters, type Interpreter } from "./interpreter.ts";
import { findInVolume } from "./lookup.ts";
import type { MemoryImage } from "./messages.ts";
import { SCRIPT_ROOT, type WasiOptions } from "./options.ts";
import { takeSnapshot } from "./snapshot.ts";
import { InlineRunner } from "./inline.ts";
import { WasiThreads } from "./threads.ts";
import type { Volume } from "./volume.ts";

/** Most output a run without threads may write (it is held whole before it is sent). */
const INLINE_MAX_OUTPUT = 32 * 1024 ** 2;

/** The handler for validated options (see gateways/index.ts). */
export function createWasi(runtime: Runtime, options: WasiOptions, name: string, router?: Router): GatewayHandler {
  const gateway = new WasiGateway(runtime, options, name, router);
  return Object.assign((c: Context) => gateway.serve(c.req.raw, c.env, c.req.routePath), {
    ready: gateway.ready,
    close: () => gateway.close(),
    stats: () => gateway.stats(),
  });
}

class WasiGateway extends ScriptGateway {
  readonly #options: WasiOptions;
  readonly #interpreter: Interpreter | undefined;
  #launcher!: WasiThreads | InlineRunner;
  /** An interpreter route's scripts. */
  #scripts: Volume | undefined;

  constructor(runtime: Runtime, options: WasiOptions, name: string, router: Router | undefined) {
    super(runtime, options, name, router, options.threads);
    this.#options = options;
    this.#interpreter = options.interpreter === undefined ? undefined : interpreters[options.interpreter];
  }

  protected async setUp(): Promise<void> {
    const o = this.#options;
    const interpreter = this.#interpreter;
    const { loaded, volumes } = await wasiSetup(this.runtime, o, interpreter, this.name);
    if (o.root !== undefined) this.#scripts = volumes[0];
    let { module, memory } = loaded;
    let image: MemoryImage | undefined;
    if (interpreter && o.snapshot !== false && loaded.bytes && memory) {
      const log = (line: string) => this.runtime.logError(`${this.name}: ${line}`);
      try {
        ({ module, memory, image } = await takeSnapshot(loaded.bytes, memory, interpreter, volumes, log));
      } catch (err) {
        throw setupError(this.name, ["interpreter"], `initializing ${interpreter.name} for its snapshot failed: ${(err as Error).message}`);
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

  protected async route(request: Request, env: unknown, routePath: string): Promise<Response> {
    // Run on this thread, a module reads its stdin from memory: a body is held whole, within max_buffered_body.
    if (this.#launcher instanceof InlineRunner && Number(request.headers.get("content-length") ?? 0) > this.#options.max_buffered_body) {
      return errorResponse(413);
    }
    const target = requestTarget(request.url, clientTargetOf(env));
    if (this.#interpreter) return this.#runScript(request, env, target, this.#interpreter, routePath);
    const safe = safePath(target.pathname);
    if (!safe.ok) return errorResponse(safe.status);
    const { scriptName, pathInfo } = splitAtRoute(safe.path, routePath);
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
      routePath,
    });
  }

  /** An interpreter route: the script the path names in root, as the cgi gateway finds it. */
  #runScript(request: Request, env: unknown, target: RequestTarget, interpreter: Interpreter, routePath: string): Promise<Response> {
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
      routePath,
    });
  }

  override stats(): RouteStats {
    return { ...super.stats(), ...(this.#launcher instanceof WasiThreads ? { threads: this.#launcher.stats() } : {}) };
  }

  protected async tearDown(): Promise<void> {
    await this.#launcher?.close();
  }
}
