// The WSGI gateway: postern runs the app itself, in `workers` Python
// processes of the adapter that ships with it (adapter/postern_wsgi.py, the
// standard library only), each serving `threads` requests at once on its own
// private unix socket, supervised as Gunicorn's arbiter does its workers
// (src/supervisor/). Requests go to them over FastCGI on kept connections
// (the Responder client of gateways/fastcgi), with the CGI environment of
// src/cgi/env.ts: SCRIPT_NAME is the route's mount (mount.ts), REMOTE_ADDR
// the client's (behind trusted_proxies, the one they name).

import type { Context } from "hono";
import type { Address } from "../../src/address.ts";
import { hashKeyReader, type HashKeyOf } from "../../src/backend/hash-key.ts";
import { poolOptions } from "../../src/backend/options.ts";
import { Upstream } from "../../src/backend/upstream.ts";
import type { RouteStats } from "../../src/metrics/stats.ts";
import { SetupError } from "../../src/check/problems.ts";
import { GatewayError } from "../../src/errors.ts";
import type { BackendPool } from "../../src/pool.ts";
import type { Runtime } from "../../src/runtime.ts";
import { BootError, type WorkerGroup } from "../../src/supervisor.ts";
import { fcgiRequest, type FcgiTimeouts } from "../fastcgi/client.ts";
import { FcgiConnection } from "../fastcgi/connection.ts";
import { notLoading, wsgiSetup } from "../checks/wsgi.ts";
import { connOf, failure, logCut, logRequestError, onClientGone, type GatewayHandler } from "../handler.ts";
import { mountedRequest } from "../mount.ts";
import type { WsgiOptions } from "./options.ts";
import { startWorkers } from "./workers.ts";
import { recordOf } from "../../src/request-record.ts";

/**
 * The longest a timer can wait (setTimeout's 32-bit limit, about 24.8 days):
 * `timeout = 0` (none, as Gunicorn's) waits this long.
 */
const NO_TIMEOUT_MS = 2 ** 31 - 1;

/** The adapter's exit status for an app it cannot import (adapter/postern_wsgi.py BOOT_ERROR, Gunicorn's). */
const BOOT_ERROR_STATUS = 3;

/** The handler for validated options (see gateways/index.ts). */
export function createWsgi(runtime: Runtime, options: WsgiOptions, name: string): GatewayHandler {
  const gateway = new WsgiGateway(runtime, options, name);
  return Object.assign((c: Context) => gateway.handle(c), {
    ready: gateway.ready,
    close: () => gateway.close(),
    scale: (delta: 1 | -1) => gateway.scale(delta),
    stats: () => gateway.stats(),
  });
}

type Pool = BackendPool<FcgiConnection>;

class WsgiGateway {
  readonly ready: Promise<void>;
  readonly #runtime: Runtime;
  readonly #options: WsgiOptions;
  readonly #name: string;
  readonly #upstream: Upstream<FcgiConnection>;
  readonly #keepAlive: boolean;
  readonly #hashKey: HashKeyOf | undefined;
  readonly #timeoutMs: number;
  /** `timeout` bounds the wait for an answer's first byte and every pause within it. */
  readonly #timeouts: FcgiTimeouts;
  #workers: WorkerGroup<Pool> | undefined;

  constructor(runtime: Runtime, options: WsgiOptions, name: string) {
    this.#runtime = runtime;
    this.#options = options;
    this.#name = name;
    this.#keepAlive = options.keepalive;
    this.#hashKey = options.hash_key === undefined ? undefined : hashKeyReader(options.hash_key);
    this.#timeoutMs = options.timeout === 0 ? NO_TIMEOUT_MS : options.timeout;
    this.#timeouts = { firstByteMs: this.#timeoutMs, idleMs: this.#timeoutMs };
    // A worker serves `threads` connections at once (the adapter's FCGI_MAX_CONNS).
    this.#upstream = new Upstream<FcgiConnection>([], (addr) => this.#open(addr), poolOptions(options, this.#keepAlive, options.threads));
    this.ready = this.#init();
    this.ready.catch(() => undefined);
  }

  async #init(): Promise<void> {
    const setup = await wsgiSetup(this.#runtime, this.#options, this.#name);
    this.#workers = await startWorkers<Pool>(this.#runtime, this.#options, this.#name, setup);
    try {
      await this.#workers.start(this.#upstream);
    } catch (err) {
      // The adapter's status for an app that does not import: said as `postern check` says it, at the `app` key.
      if (!(err instanceof BootError) || err.status !== BOOT_ERROR_STATUS) throw err;
      const message = notLoading(this.#options.app, setup.python, err.status, err.output);
      throw new SetupError([{ owner: this.#name, key: ["app"], message, boot: true }]);
    }
  }

  async #open(addr: Address): Promise<FcgiConnection> {
    const timeoutMs = this.#options.connect_timeout;
    try {
      const duplex = await this.#workers!.connect(addr, () => this.#runtime.connect(addr, { timeoutMs }), timeoutMs);
      return new FcgiConnection(duplex, false);
    } catch (err) {
      if ((err as Error).name === "TimeoutError") throw new GatewayError("BACKEND_CONNECT_TIMEOUT", `connecting to a worker took over ${timeoutMs} ms`);
      throw new GatewayError("BACKEND_UNREACHABLE", `worker: ${(err as Error).message}`, { cause: err });
    }
  }

  scale(delta: 1 | -1): void {
    this.#workers?.scale(delta);
  }

  stats(): RouteStats {
    return { ...this.#upstream.stats(), ...this.#workers?.stats() };
  }

  async handle(c: Context): Promise<Response> {
    const request = c.req.raw;
    try {
      await this.ready;
      const o = this.#options;
      const mounted = await mountedRequest(c, o);
      if (mounted instanceof Response) return mounted;
      const { target, env: params, body } = mounted;
      const workers = this.#workers!;
      return await fcgiRequest(this.#upstream, {
        params,
        body,
        head: request.method === "HEAD",
        // Never sent again: an app's request may have had its effect before its worker died.
        repeatable: false,
        key: this.#hashKey?.(request, connOf(c).remoteAddress),
        onClientGone: (listener) => onClientGone(c, listener),
        record: recordOf(c.env),
        keepAlive: this.#keepAlive,
        timeouts: this.#timeouts,
        maxHeaderBytes: o.max_response_header_size,
        logStderr: (text) => logRequestError(this.#runtime, c.env, `${this.#name}: ${target.pathname}: stderr: ${text}`),
        logCut: (reason) => logCut(this.#runtime, this.#name, target.pathname, reason, c.env),
        runOn: true,
        watch: {
          leased: (backend) => workers.leased(backend),
          timedOut: (backend) => workers.timedOut(backend, `${request.method} ${target.pathname}`, this.#timeoutMs),
        },
      });
    } catch (err) {
      return failure(this.#runtime, this.#name, err, c.env);
    }
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    await this.#upstream.close();
    await this.#workers?.stop();
  }
}
