// What the gateways that run a CGI program per request (cgi, wasi) share:
// a cap on programs running at once with a queue, the CGI variables, the
// request exchange (run.ts), RFC 3875 §6.2.2 local redirects through the
// whole app, and a close that waits for the requests in flight.

import { cgiEnv, variablesOf } from "../../src/cgi/env.ts";
import type { RequestTarget } from "../../src/cgi/target.ts";
import { errorResponse, GatewayError } from "../../src/errors.ts";
import { forwardedBody } from "../../src/http/request-body.ts";
import { ConcurrencyLimiter } from "../../src/limiter.ts";
import type { RouteStats } from "../../src/metrics/stats.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { CgiOptions } from "../cgi/options.ts";
import { connOfEnv, derivedEnv, failure, logCut, logRequestError, onRequestGone, redirectDepth, setRedirectDepth, type Router } from "../handler.ts";
import type { WasiOptions } from "../wasi/options.ts";
import type { ScriptLauncher } from "./launcher.ts";
import { runScript, type ScriptOutcome } from "./run.ts";

/** RFC 3875 §6.2.2 local redirects followed for one request before it is answered 500. */
const MAX_LOCAL_REDIRECTS = 5;

/** A script's stderr is text for people: invalid UTF-8 shows as U+FFFD. */
const STDERR_TEXT = new TextDecoder();

/** The validated route keys every such gateway has, as each holds them. */
export type ScriptRouteOptions = Pick<CgiOptions, keyof CgiOptions & keyof WasiOptions> | Pick<WasiOptions, keyof CgiOptions & keyof WasiOptions>;

/** One program run for one request. */
export interface ScriptCall {
  target: RequestTarget;
  scriptName: string;
  pathInfo: string;
  documentRoot?: string;
  scriptFilename?: string;
  argv: string[];
  cwd: string;
  /** The real root the script lies beneath (ScriptSpec.root). */
  root?: string;
  /** Variables besides the CGI ones (before the route's `env`). */
  extraEnv?: Record<string, string>;
  nph: boolean;
  launcher: ScriptLauncher;
  killGraceMs: number;
  /** The route's hono pattern, for a local redirect answered without the app (no router). */
  routePath: string;
}

export abstract class ScriptGateway {
  readonly ready: Promise<void>;
  protected readonly runtime: Runtime;
  protected readonly name: string;
  readonly #options: ScriptRouteOptions;
  readonly #router: Router | undefined;
  readonly #limiter: ConcurrencyLimiter;
  #closing = false;
  #arriving = 0;
  #arrivalsDone: (() => void)[] = [];

  constructor(runtime: Runtime, options: ScriptRouteOptions, name: string, router: Router | undefined, maxActive: number) {
    this.runtime = runtime;
    this.#options = options;
    this.name = name;
    this.#router = router;
    this.#limiter = new ConcurrencyLimiter({
      maxActive,
      maxQueue: options.max_queue,
      queueTimeoutMs: options.queue_timeout,
      what: "script slots",
    });
    // After the subclass's constructor: setUp uses its fields.
    this.ready = Promise.resolve().then(() => this.setUp());
    this.ready.catch(() => undefined);
  }

  /** Checks the route's setup and starts what it needs; runs once, from the constructor. */
  protected abstract setUp(): Promise<void>;

  /**
   * Answers a request: a program to run (through `call`), or an error page;
   * undefined hands it to the next route. `routePath` is the hono pattern of
   * the route it matched (`/cgi-bin/*`): where the route is mounted.
   */
  protected abstract route(request: Request, env: unknown, routePath: string): Promise<Response | undefined>;

  /** Lets go of what setUp started, once no request is in flight. */
  protected abstract tearDown(): Promise<void>;

  async serve(request: Request, env: unknown, routePath = "*"): Promise<Response | undefined> {
    // Counted until it has a slot (or its answer): close() waits for both.
    this.#arriving++;
    try {
      await this.ready;
      if (this.#closing) throw new GatewayError("BACKEND_OVERLOADED", "route closed", { retryAfter: 1 });
      return await this.route(request, env, routePath);
    } catch (err) {
      return failure(this.runtime, this.name, err, env);
    } finally {
      if (--this.#arriving === 0) for (const resolve of this.#arrivalsDone.splice(0)) resolve();
    }
  }

  /** Runs the program of `call` for the request, in a slot. */
  protected async call(request: Request, env: unknown, call: ScriptCall): Promise<Response> {
    const o = this.#options;
    const label = call.scriptName || "/";
    const onClientGone = (listener: () => void) => onRequestGone(env, request, listener);
    let unsubscribe: (() => void) | undefined;
    const release = await this.#limiter.acquire((cancel) => (unsubscribe = onClientGone(cancel)));
    unsubscribe?.();
    let outcome: ScriptOutcome;
    let started = false;
    try {
      // A chunked body is held in memory: only with a slot, so that at most
      // as many of them are as programs may run.
      const { body, contentLength } = await forwardedBody(request, {
        maxBodySize: o.max_body_size,
        maxBufferedBody: o.max_buffered_body,
      });
      const extra = { ...call.extraEnv, ...o.env };
      if (contentLength !== undefined) extra.CONTENT_LENGTH = contentLength;
      const scriptEnv = cgiEnv({
        request,
        target: call.target,
        conn: connOfEnv(env),
        scriptName: call.scriptName,
        pathInfo: call.pathInfo,
        documentRoot: call.documentRoot,
        scriptFilename: call.scriptFilename,
        extra,
        underscoresInHeaders: o.underscores_in_headers,
        variables: variablesOf(env),
      });
      started = true;
      outcome = await runScript({
        launcher: call.launcher,
        spec: {
          argv: call.argv,
          env: scriptEnv,
          cwd: call.cwd,
          root: call.root,
          maxStderr: o.max_stderr,
          onStderr: (bytes) => {
            const text = STDERR_TEXT.decode(bytes).trimEnd();
            // A write of only a line end (Ruby's puts writes it apart) is no line for the log.
            if (text !== "") logRequestError(this.runtime, env, `${this.name}: ${label}: stderr: ${text}`);
          },
        },
        body,
        head: request.method === "HEAD",
        nph: call.nph,
        timeoutMs: o.timeout,
        killGraceMs: call.killGraceMs,
        maxHeaderBytes: o.max_response_header_size,
        onClientGone,
        onEnded: release,
        onCut: (reason) => logCut(this.runtime, this.name, label, reason, env),
      });
    } catch (err) {
      if (!started) release();
      // The error log names the script, not only the route.
      if (err instanceof GatewayError) err.message = `${label}: ${err.message}`;
      throw err;
    }
    if (outcome.kind === "response") return outcome.response;
    return this.#redirect(request, env, outcome.location, call.routePath);
  }

  /** RFC 3875 §6.2.2: answers as for a GET of `location` through the whole app. */
  async #redirect(request: Request, env: unknown, location: string, routePath: string): Promise<Response> {
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
    // The route it reaches runs its own auth: what this route's set for its backend (REMOTE_USER, Variable-*) is not its to pass on.
    if (this.#router) return this.#router.fetch(next, derivedEnv(env, { variables: undefined }));
    return (await this.route(next, env, routePath)) ?? errorResponse(404);
  }

  /** The requests waiting for a slot (read-only, for the metrics); a gateway adds what it runs. */
  stats(): RouteStats {
    return { queued: this.#limiter.queued };
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.ready.catch(() => undefined);
    if (this.#arriving > 0) await new Promise<void>((resolve) => this.#arrivalsDone.push(resolve));
    await this.#limiter.idle();
    await this.tearDown();
  }
}
