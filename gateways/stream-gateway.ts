// The route of an app server that takes one request per connection (the
// uwsgi and SCGI gateways): its shared keys, and the handler that wires them
// to the CGI environment of the route's mount, the backends and the exchange
// of src/backend/stream-exchange.ts. A protocol supplies only how a
// request's variables are encoded.

import type { Context } from "hono";
import { connectBackend } from "../src/backend/connect.ts";
import { hashKeyReader, type HashKeyOf } from "../src/backend/hash-key.ts";
import { backendFields, backendProblem, poolOptions } from "../src/backend/options.ts";
import { mayRepeat } from "../src/backend/retry.ts";
import { StreamConnection, streamRequest } from "../src/backend/stream-exchange.ts";
import { probePathInfo, streamProbe } from "../src/backend/stream-probe.ts";
import { Upstream } from "../src/backend/upstream.ts";
import { bufferingFields } from "../src/buffer/options.ts";
import { StatusLineParser } from "../src/cgi/response.ts";
import type { Schema, ValidatedOf } from "../src/config-schema.ts";
import type { RouteStats } from "../src/metrics/stats.ts";
import type { Runtime } from "../src/runtime.ts";
import { backendSetup } from "./checks/common.ts";
import { connOf, failure, logCut, onClientGone, type GatewayHandler } from "./handler.ts";
import { mountedRequest } from "./mount.ts";
import { recordOf } from "../src/request-record.ts";

/**
 * One request per connection: no connection is kept, so the keepalive keys
 * have no meaning here (an error if written), and the backend's capacity
 * cannot be learned from kept connections: max_conns has a default.
 */
const { keepalive: _keepalive, keepalive_timeout: _keepaliveTimeout, ...perConnectionFields } = backendFields;

/**
 * A backend takes this many requests at once unless the route says more:
 * uWSGI's own default (one process, no threads). Above the backend's real
 * number, requests wait in its listen backlog, out of reach of max_queue,
 * queue_timeout and balancing, and a health check waiting there behind busy
 * workers fails a backend that is only busy; below it, workers stay idle.
 */
const DEFAULT_MAX_CONNS = 1;

/** The keys of a uwsgi or SCGI route (the protocol's own ones added by its options.ts). */
export const streamFields = {
  ...perConnectionFields,
  backend: { type: "address[]", required: true, doc: "the app server's address, or several, balanced by `balance`" },
  max_conns: {
    type: "integer",
    default: DEFAULT_MAX_CONNS,
    min: 1,
    doc: "requests postern sends each backend at once, one per connection: **set it to the backend's processes × threads** (uWSGI's `--processes` × `--threads`); more wait in postern's queue. Above the real number they would wait in the backend's listen backlog, out of reach of the queue's limits and of balancing",
  },
  ...bufferingFields,
  max_response_header_size: { type: "size", default: 64 * 1024, min: 1024, doc: "largest header block from the backend; beyond it 502" },
  underscores_in_headers: { type: "boolean", default: false, doc: "pass request headers whose names contain `_` (dropped by default, so that `X_Forwarded_For` cannot pose as `X-Forwarded-For`)" },
  env: { type: "env", default: {}, doc: "extra variables, set last (they override): nginx's `uwsgi_param` / `scgi_param`. `CONTENT_LENGTH` is refused: it is the body's length, which frames the request" },
} as const satisfies Schema;

/**
 * The check of a uwsgi or SCGI route's keys: the request's framing is the
 * gateway's. A CONTENT_LENGTH of `env` would replace the body's real length
 * (env is set last), and the backend would read too few bytes or wait for
 * bytes that never come. A health check's path is decoded as a request's
 * (src/backend/stream-probe.ts): one that cannot be is refused.
 */
export function streamProblem(options: Record<string, unknown>): { key: string; message: string } | undefined {
  if (Object.hasOwn(options.env as Record<string, string>, "CONTENT_LENGTH")) {
    return { key: "env.CONTENT_LENGTH", message: "is the request body's length, set by postern; it cannot be set here" };
  }
  const health = options.health as { path: string } | undefined;
  if (health && health.path.startsWith("/") && probePathInfo(health.path) === undefined) {
    return { key: "health.path", message: `${JSON.stringify(health.path)} is no path a request could have (a bad escape, an encoded slash, NUL, CR or LF)` };
  }
  return backendProblem(options);
}

/** The validated keys of a uwsgi or SCGI route (their own ones aside). */
export type StreamOptions = ValidatedOf<typeof streamFields>;

/** A protocol's part: the request head for a request's variables. */
export type EncodeHead = (vars: Record<string, string>) => Uint8Array;

/** The handler of a route whose options were validated (see gateways/index.ts). */
export function createStreamGateway(runtime: Runtime, options: StreamOptions, name: string, encode: EncodeHead): GatewayHandler {
  const gateway = new StreamGateway(runtime, options, name, encode);
  return Object.assign((c: Context) => gateway.handle(c), {
    ready: gateway.ready,
    close: () => gateway.close(),
    stats: () => gateway.stats(),
  });
}

class StreamGateway {
  readonly ready: Promise<void>;
  readonly #runtime: Runtime;
  readonly #options: StreamOptions;
  readonly #name: string;
  readonly #encode: EncodeHead;
  readonly #hashKey: HashKeyOf | undefined;
  #upstream!: Upstream<StreamConnection>;

  constructor(runtime: Runtime, options: StreamOptions, name: string, encode: EncodeHead) {
    this.#runtime = runtime;
    this.#options = options;
    this.#name = name;
    this.#encode = encode;
    this.#hashKey = options.hash_key === undefined ? undefined : hashKeyReader(options.hash_key);
    this.ready = this.#init();
    this.ready.catch(() => undefined);
  }

  async #init(): Promise<void> {
    const o = this.#options;
    const addresses = backendSetup(this.#runtime, o.backend, this.#name);
    const health = o.health && {
      probe: streamProbe(this.#runtime, this.#encode),
      options: o.health,
      lazy: this.#runtime.requestScopedIO === true,
      log: (line: string) => this.#runtime.logError(`${this.#name}: ${line}`),
    };
    const open = async (addr: Parameters<typeof connectBackend>[1]) => new StreamConnection(await connectBackend(this.#runtime, addr, o.connect_timeout));
    this.#upstream = new Upstream(addresses, open, poolOptions({ ...o, keepalive_timeout: 0 }, false, o.max_conns), health);
  }

  async handle(c: Context): Promise<Response> {
    const request = c.req.raw;
    try {
      await this.ready;
      const o = this.#options;
      const mounted = await mountedRequest(c, o, o.env);
      if (mounted instanceof Response) return mounted;
      const { target, env: vars, body } = mounted;
      // Before a backend is taken: a head the protocol cannot carry is refused with nothing sent.
      const head = this.#encode(vars);
      // Only a body the backend was told the length of (never a GET's, RFC 9110 §9.3.1).
      const sent = vars.CONTENT_LENGTH === undefined ? null : body;
      if (sent !== body && body instanceof ReadableStream) void body.cancel().catch(() => undefined);
      return await streamRequest(this.#upstream, {
        head,
        body: sent,
        isHead: request.method === "HEAD",
        repeatable: mayRepeat(request.method, sent),
        key: this.#hashKey?.(request, connOf(c).remoteAddress),
        onClientGone: (listener) => onClientGone(c, listener),
        record: recordOf(c.env),
        timeouts: { firstByteMs: o.first_byte_timeout, idleMs: o.idle_timeout },
        parser: () => new StatusLineParser({ maxHeaderBytes: o.max_response_header_size, statusLine: "optional" }),
        logCut: (reason) => logCut(this.#runtime, this.#name, target.pathname, reason, c.env),
        runOn: this.#runtime.requestScopedIO !== true,
      });
    } catch (err) {
      return failure(this.#runtime, this.#name, err, c.env);
    }
  }

  stats(): RouteStats {
    return { ...this.#upstream?.stats() };
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    await this.#upstream?.close();
  }
}
