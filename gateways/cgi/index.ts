// The CGI gateway (RFC 3875): finds the script a request names under the
// route's root, starts it (directly, or through the interpreter its extension
// maps to) with the CGI meta-variables as its whole environment, and answers
// with what it prints. At most `max_procs` scripts run at once.

import type { Context } from "hono";
import { cgiEnv } from "../../src/cgi/env.ts";
import { requestTarget } from "../../src/cgi/target.ts";
import { errorResponse, GatewayError } from "../../src/errors.ts";
import { FileCache } from "../../src/file-cache.ts";
import { forwardedBody } from "../../src/http/request-body.ts";
import { ConcurrencyLimiter } from "../../src/limiter.ts";
import { safePath } from "../../src/paths.ts";
import type { Runtime } from "../../src/runtime.ts";
import { connOfEnv, failure, onRequestGone, realRootDirectory, redirectDepth, setRedirectDepth, type GatewayHandler, type Router } from "../handler.ts";
import { findProgram } from "../program.ts";
import { directLauncher } from "./direct.ts";
import type { ScriptLauncher } from "../script/launcher.ts";
import { findScript, type ScriptLocation } from "./lookup.ts";
import type { CgiOptions } from "./options.ts";
import { runScript, type ScriptOutcome } from "../script/run.ts";
import { nativeLauncher } from "./spawner/index.ts";

/** A script's stderr is text for people: invalid UTF-8 shows as U+FFFD. */
const STDERR_TEXT = new TextDecoder();

/** RFC 3875 §6.2.2 local redirects followed for one request before it is answered 500. */
export const MAX_LOCAL_REDIRECTS = 5;

/** The handler for validated options (see gateways/index.ts). */
export function createCgi(runtime: Runtime, options: CgiOptions, name: string, router?: Router): GatewayHandler {
  const gateway = new CgiGateway(runtime, options, name, router);
  return Object.assign((c: Context) => gateway.serve(c.req.raw, c.env), {
    ready: gateway.ready,
    close: () => gateway.close(),
  });
}

interface Setup {
  location: ScriptLocation;
  launcher: ScriptLauncher;
  /** Extension -> absolute path of its interpreter. */
  interpreters: Map<string, string>;
  /** The variables of the gateway's own environment that scripts get. */
  passed: Record<string, string>;
}

class CgiGateway {
  readonly ready: Promise<void>;
  readonly #runtime: Runtime;
  readonly #options: CgiOptions;
  readonly #name: string;
  readonly #router: Router | undefined;
  readonly #limiter: ConcurrencyLimiter;
  #setup!: Setup;
  #closing = false;
  #arriving = 0;
  #arrivalsDone: (() => void)[] = [];

  constructor(runtime: Runtime, options: CgiOptions, name: string, router: Router | undefined) {
    if (!runtime.spawn || !runtime.fs) throw new Error(`${name}: the ${runtime.name} runtime cannot run CGI scripts (no processes)`);
    this.#runtime = runtime;
    this.#options = options;
    this.#name = name;
    this.#router = router;
    this.#limiter = new ConcurrencyLimiter({
      maxActive: options.max_procs,
      maxQueue: options.max_queue,
      queueTimeoutMs: options.queue_timeout,
      what: "script slots",
    });
    this.ready = this.#init();
    this.ready.catch(() => undefined);
  }

  async #init(): Promise<void> {
    const runtime = this.#runtime;
    const o = this.#options;
    const realRoot = await realRootDirectory(runtime.fs!, o.root, this.#name);
    const root = o.root.startsWith("/") ? o.root : realRoot;
    const passed: Record<string, string> = {};
    for (const name of o.pass_env) {
      const value = runtime.getEnv(name);
      if (value !== undefined) passed[name] = value;
    }
    const interpreters = new Map<string, string>();
    for (const [ext, program] of Object.entries(o.interpreters)) {
      const path = await findProgram(runtime, program, passed.PATH ?? runtime.getEnv("PATH"));
      if (!path) throw new Error(`${this.#name}: interpreters.${ext}: ${JSON.stringify(program)} not found`);
      interpreters.set(ext, path);
    }
    const launcher = (o.spawn_helper ? await nativeLauncher(runtime, this.#name) : null) ?? directLauncher(runtime);
    this.#setup = {
      location: { root, realRoot, index: o.index, files: new FileCache(runtime.fs!) },
      launcher,
      interpreters,
      passed,
    };
  }

  async serve(request: Request, env: unknown): Promise<Response> {
    // Counted until it has a slot (or its answer): close() waits for both.
    this.#arriving++;
    try {
      await this.ready;
      if (this.#closing) throw new GatewayError("BACKEND_OVERLOADED", "route closed", { retryAfter: 1 });
      return await this.#serve(request, env);
    } catch (err) {
      return failure(this.#runtime, this.#name, err);
    } finally {
      this.#arrived();
    }
  }

  #arrived(): void {
    if (--this.#arriving === 0) for (const resolve of this.#arrivalsDone.splice(0)) resolve();
  }

  async #serve(request: Request, env: unknown): Promise<Response> {
    const o = this.#options;
    const setup = this.#setup;
    const target = requestTarget(request.url);
    const safe = safePath(target.pathname);
    if (!safe.ok) return errorResponse(safe.status);
    const script = await findScript(safe.path, setup.location);
    if (!script.ok) return errorResponse(script.status);
    const argv = this.#command(script.real, script.stat.mode);
    if (!argv) return errorResponse(403);
    const onClientGone = (listener: () => void) => onRequestGone(env, request, listener);
    let unsubscribe: (() => void) | undefined;
    const release = await this.#limiter.acquire((cancel) => (unsubscribe = onClientGone(cancel)));
    unsubscribe?.();
    const base = script.real.slice(script.real.lastIndexOf("/") + 1);
    let outcome: ScriptOutcome;
    let started = false;
    try {
      // A chunked body is held in memory: only with a slot, so that at most
      // max_procs of them are.
      const { body, contentLength } = await forwardedBody(request, {
        maxBodySize: o.max_body_size,
        maxBufferedBody: o.max_buffered_body,
      });
      const extra = { ...setup.passed, ...o.env };
      if (contentLength !== undefined) extra.CONTENT_LENGTH = contentLength;
      const scriptEnv = cgiEnv({
        request,
        target,
        conn: connOfEnv(env),
        scriptName: script.scriptName,
        pathInfo: script.pathInfo,
        documentRoot: setup.location.root,
        scriptFilename: script.scriptFilename,
        extra,
        underscoresInHeaders: o.underscores_in_headers,
      });
      started = true;
      outcome = await runScript({
        launcher: setup.launcher,
        spec: {
          argv,
          env: scriptEnv,
          // RFC 3875 §7.2 (UNIX): the current directory is the script's own.
          cwd: script.real.slice(0, script.real.lastIndexOf("/")) || "/",
          maxStderr: o.max_stderr,
          onStderr: (bytes) => this.#runtime.logError(`${this.#name}: ${script.scriptName}: stderr: ${STDERR_TEXT.decode(bytes).trimEnd()}`),
        },
        body,
        head: request.method === "HEAD",
        nph: base.startsWith("nph-"),
        timeoutMs: o.timeout,
        killGraceMs: o.kill_grace,
        maxHeaderBytes: o.max_response_header_size,
        onClientGone,
        onEnded: release,
      });
    } catch (err) {
      if (!started) release();
      // The error log names the script, not only the route.
      if (err instanceof GatewayError) err.message = `${script.scriptName}: ${err.message}`;
      throw err;
    }
    if (outcome.kind === "response") return outcome.response;
    return this.#redirect(request, env, outcome.location);
  }

  /**
   * argv for a script: its interpreter and its path, or the path alone for an
   * executable; null when it may not run (never served as a file instead).
   * Only the path: a query string never becomes arguments (RFC 3875 §4.4
   * allows it for ISINDEX queries; CVE-2012-1823 is what it led to).
   */
  #command(real: string, mode: number): string[] | null {
    const executable = (mode & 0o111) !== 0;
    if (this.#options.executable_only && !executable) return null;
    const dot = real.lastIndexOf(".");
    const interpreter = dot > real.lastIndexOf("/") ? this.#setup.interpreters.get(real.slice(dot)) : undefined;
    if (interpreter) return [interpreter, real];
    return executable ? [real] : null;
  }

  /** RFC 3875 §6.2.2: answers as for a GET of `location` through the whole app. */
  async #redirect(request: Request, env: unknown, location: string): Promise<Response> {
    const depth = redirectDepth(request) + 1;
    if (depth > MAX_LOCAL_REDIRECTS) {
      throw new GatewayError("INTERNAL", `more than ${MAX_LOCAL_REDIRECTS} local redirects, the last to ${location}`);
    }
    const headers = new Headers(request.headers);
    for (const name of ["content-length", "content-type", "transfer-encoding"]) headers.delete(name);
    const url = new URL(location, request.url);
    // A path such as /\host/x resolves to another host: WHATWG URL reads "\" as "/".
    if (url.origin !== new URL(request.url).origin) {
      throw new GatewayError("BACKEND_MALFORMED", `local redirect to ${JSON.stringify(location)} leaves the server`);
    }
    const next = new Request(url, { method: "GET", headers, signal: request.signal });
    setRedirectDepth(next, depth);
    if (this.#router) return this.#router.fetch(next, env);
    return this.#serve(next, env);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.ready.catch(() => undefined);
    if (this.#arriving > 0) await new Promise<void>((resolve) => this.#arrivalsDone.push(resolve));
    await this.#limiter.idle();
    await this.#setup?.launcher.close();
  }
}
