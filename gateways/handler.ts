// What every gateway factory returns: a hono handler that can also be shut
// down (its pools closed, the processes it started stopped); and the front
// every backend gateway is served through (`buffered`): the request body
// received before a backend is taken, the answer read ahead of the client,
// and both sides' timeouts, so that no slow client can pin a backend.

import type { Context, MiddlewareHandler } from "hono";
import type { BufferBudget } from "../src/buffer/budget.ts";
import type { BufferingOptions } from "../src/buffer/options.ts";
import { readAhead } from "../src/buffer/read-ahead.ts";
import { Spool } from "../src/buffer/spool.ts";
import { UNKNOWN_CONN, type ConnInfo } from "../src/cgi/conn.ts";
import { GatewayError, responseForError } from "../src/errors.ts";
import { isLiveResponse } from "../src/http/live-response.ts";
import { reasonPhraseOf, withReasonPhrase } from "../src/http/reason-phrase.ts";
import { hasRequestBody, receiveBody, timeBodyReads } from "../src/http/request-body.ts";
import type { RouteStats } from "../src/metrics/stats.ts";
import type { Runtime, ServeEnv } from "../src/runtime.ts";
import { SchemaError, validateTable, type GatewaySchema } from "../src/config-schema.ts";
import { requestContext } from "../src/logs.ts";
import { recordOf } from "../src/request-record.ts";
import { formatKey } from "../src/config.ts";

export type GatewayHandler = MiddlewareHandler & {
  /** Settles when the route is set up (root checked, backends started); rejects on a setup error. */
  ready: Promise<void>;
  /** Stops accepting work for this route and releases what it holds. */
  close(): Promise<void>;
  /** One worker process more or fewer, never fewer than one (SIGTTIN, SIGTTOU): routes that run workers. */
  scale?(delta: 1 | -1): void;
  /** What the route holds and runs now (backends, workers, threads, programs), for the metrics and the status page: read-only. */
  stats?(): RouteStats;
};

/** The connection facts the runtime put in the request's env (each runtime serves with a ServeEnv). */
export function connOf(c: Context): ConnInfo {
  return connOfEnv(c.env);
}

export function connOfEnv(env: unknown): ConnInfo {
  return (env as Partial<ServeEnv> | undefined)?.conn ?? UNKNOWN_CONN;
}

/**
 * `env` with `fields` in place of its own; everything else (a platform's
 * bindings, onClientGone) still comes from `env`.
 */
export function derivedEnv(env: unknown, fields: Partial<ServeEnv> & Record<symbol, unknown>): ServeEnv {
  const base = (typeof env === "object" && env !== null ? env : {}) as Partial<ServeEnv>;
  const derived = Object.create(base) as ServeEnv;
  for (const key of Reflect.ownKeys(fields)) Object.defineProperty(derived, key, { value: fields[key as keyof typeof fields], enumerable: true });
  // A runtime's env may keep its state in private fields, which only answer to the env itself: its getters and methods are called on it.
  const gone = base.onClientGone;
  if (typeof gone === "function" && !Object.hasOwn(fields, "onClientGone")) Object.defineProperty(derived, "onClientGone", { value: gone.bind(base) });
  if ("conn" in base && !Object.hasOwn(fields, "conn")) Object.defineProperty(derived, "conn", { get: () => base.conn, enumerable: true });
  return derived;
}

/** Calls `listener` when the client goes away mid-request; returns the unsubscribe function. */
export function onClientGone(c: Context, listener: () => void): () => void {
  return onRequestGone(c.env, c.req.raw, listener);
}

/** onClientGone for a request and the env it is served with. */
export function onRequestGone(env: unknown, request: Request, listener: () => void): () => void {
  const serveEnv = env as Partial<ServeEnv> | undefined;
  if (serveEnv?.onClientGone) return serveEnv.onClientGone(listener);
  const signal = request.signal;
  if (signal.aborted) {
    queueMicrotask(listener);
    return () => undefined;
  }
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}

// Requests postern made itself to follow a local redirect, and how many
// redirects led to each.
const redirectDepths = new WeakMap<Request, number>();

/** How many local redirects led to `request`: 0 for a client's own. */
export function redirectDepth(request: Request): number {
  return redirectDepths.get(request) ?? 0;
}

export function setRedirectDepth(request: Request, depth: number): void {
  redirectDepths.set(request, depth);
}

/** Serves a request through the whole app again: RFC 3875 §6.2.2 local redirects. */
export interface Router {
  fetch(request: Request, env: unknown): Promise<Response>;
}

/** Validates programmatic options the same way postern.toml route keys are validated. */
export function gatewayOptions(name: string, schema: GatewaySchema, input: Record<string, unknown>): Record<string, unknown> {
  try {
    const options = validateTable(schema.fields, input, [], { owner: `gateway "${name}"` });
    const problem = schema.check?.(options);
    if (problem) throw new SchemaError(problem.key.split("."), problem.message);
    return options;
  } catch (err) {
    // A call has no file or line: the key names what is wrong, as in
    // postern.toml's messages (`root: expected a string, found integer 5`).
    if (err instanceof SchemaError) throw new SchemaError(err.path, `${formatKey(err.path)}: ${err.message}`, err.at);
    throw err;
  }
}

/**
 * An error line about the request served with `env`: its client and request
 * line after it (src/logs.ts requestContext), where the app keeps a record
 * of its requests (src/request-record.ts).
 */
export function logRequestError(runtime: Runtime, env: unknown, line: string): void {
  const record = recordOf(env);
  runtime.logError(record === undefined ? line : `${line}${requestContext(record)}`);
}

/** The client's answer for a failed request; the detail goes to the error log only. */
export function failure(runtime: Runtime, route: string, err: unknown, env: unknown): Response {
  if (err instanceof GatewayError && err.code === "CLIENT_CLOSED") return responseForError(err);
  const detail = err instanceof GatewayError ? `${err.code}: ${err.message}` : `INTERNAL: ${String(err)}`;
  logRequestError(runtime, env, `${route}: ${detail}`);
  return responseForError(err);
}

/** Logs that the client did not get a backend's answer as the backend sent it (src/cgi/framing.ts). */
export function logCut(runtime: Runtime, route: string, what: string, reason: GatewayError, env: unknown): void {
  logRequestError(runtime, env, `${route}: ${what}: answer cut short: ${reason.code}: ${reason.message}`);
}

/** Bytes of an answer read ahead that are held in memory; past them a temporary file (nginx holds 32 to 64 KiB, proxy_buffers). */
const RESPONSE_MEMORY = 1024 * 1024;

/**
 * `handler` behind the buffering front. Unless the route turns
 * request_buffering off, the whole request body is received first (memory,
 * then a temporary file), before the gateway looks for a backend; a backend's
 * streamed answer is read ahead of the client within response_buffer. What
 * was held for a request goes when its answer is over.
 */
export function buffered(handler: GatewayHandler, options: BufferingOptions, runtime: Runtime, budget: BufferBudget, route: string): GatewayHandler {
  const spool = (memory: number, limit: number) => new Spool({ memory, limit, budget, files: runtime.fs });
  const front = async (c: Context, next: () => Promise<void>): Promise<Response | void> => {
    const request = c.req.raw;
    // Most requests have no body: then no buffer is set up.
    let body: Spool | undefined;
    const withBody = hasRequestBody(request);
    if (withBody && !options.request_buffering) timeBodyReads(request, options.body_timeout);
    else if (withBody) {
      body = spool(options.max_buffered_body, options.max_body_size);
      try {
        await receiveBody(request, { maxBodySize: options.max_body_size, timeoutMs: options.body_timeout, spool: body });
      } catch (err) {
        void body.dispose();
        return failure(runtime, route, err, c.env);
      }
    }
    const done = () => void body?.dispose();
    let response: Response | void;
    try {
      response = await handler(c, next);
    } catch (err) {
      done();
      throw err;
    }
    // Where a backend connection lives only as long as its request (Workers),
    // reading ahead frees nothing for other requests, and the platform's own
    // front end holds the answer for a slow client.
    if (!(response instanceof Response) || !isLiveResponse(response) || response.body === null || runtime.requestScopedIO === true) {
      done();
      return response;
    }
    const stream = readAhead(response.body, {
      spool: spool(Math.min(options.max_buffered_body, RESPONSE_MEMORY), options.response_buffer),
      sendTimeoutMs: options.send_timeout,
      onEnd: done,
      onSendTimeout: () => logRequestError(runtime, c.env, `${route}: ${new URL(request.url).pathname}: client read nothing for ${options.send_timeout} ms: cut off`),
    });
    const init = { status: response.status, statusText: response.statusText, headers: response.headers };
    return withReasonPhrase(new Response(stream, init), reasonPhraseOf(response) ?? "");
  };
  const { scale, stats } = handler;
  return Object.assign(front, { ready: handler.ready, close: () => handler.close() }, scale ? { scale } : {}, stats ? { stats } : {});
}
