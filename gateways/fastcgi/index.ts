// The FastCGI gateway: wires a route's options to script routing, the CGI
// environment, the backend pools and the Responder client.

import type { Context, Next } from "hono";
import { routePath } from "hono/route";
import { formatAddress, type Address } from "../../src/address.ts";
import { hashKeyReader, type HashKeyOf } from "../../src/backend/hash-key.ts";
import { poolOptions } from "../../src/backend/options.ts";
import { mayRepeat } from "../../src/backend/retry.ts";
import { Upstream } from "../../src/backend/upstream.ts";
import { cgiEnv, variablesOf } from "../../src/cgi/env.ts";
import { requestTarget } from "../../src/cgi/target.ts";
import { errorResponse, GatewayError } from "../../src/errors.ts";
import { forwardedBody } from "../../src/http/request-body.ts";
import { safePath } from "../../src/paths.ts";
import type { RouteStats } from "../../src/metrics/stats.ts";
import type { BackendPool } from "../../src/pool.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { WorkerGroup } from "../../src/supervisor.ts";
import { fastcgiSetup } from "../checks/fastcgi.ts";
import { connOf, failure, logCut, logRequestError, onClientGone, type GatewayHandler } from "../handler.ts";
import { redirectToDirectory } from "../directory-redirect.ts";
import { clientTargetOf } from "../request-path.ts";
import { rootedPath } from "../rooted-path.ts";
import { Sendfile } from "../sendfile.ts";
import { SymlinkPolicy } from "../symlinks.ts";
import { VhostRoots } from "../vhost-root.ts";
import { probeValues } from "./capacity.ts";
import { fcgiRequest, type FcgiTimeouts } from "./client.ts";
import { FcgiConnection } from "./connection.ts";
import { fastcgiProbe } from "./health.ts";
import type { FastCgiOptions } from "./options.ts";
import { resolveScript, type ScriptRouting } from "./routing.ts";
import { spawnBackends } from "./spawn.ts";
import { recordOf } from "../../src/request-record.ts";

/** How long a backend may take to answer FCGI_GET_VALUES before its capacity counts as unknown. */
const PROBE_TIMEOUT_MS = 1_000;

/** The handler for validated options (see gateways/index.ts). */
export function createFastCgi(runtime: Runtime, options: FastCgiOptions, name: string): GatewayHandler {
  const gateway = new FastCgiGateway(runtime, options, name);
  const sendfile = new Sendfile(runtime, options.x_sendfile, name);
  const handler = async (c: Context, next: Next) => {
    const response = await gateway.handle(c);
    return response ? sendfile.answer(c.req.raw, response) : next();
  };
  return Object.assign(handler, {
    ready: gateway.ready,
    close: () => gateway.close(),
    stats: () => gateway.stats(),
  });
}

class FastCgiGateway {
  readonly ready: Promise<void>;
  readonly #runtime: Runtime;
  readonly #options: FastCgiOptions;
  readonly #name: string;
  readonly #multiplexed = new Set<string>();
  #upstream!: Upstream<FcgiConnection>;
  #routing!: ScriptRouting;
  /** Per-host roots (`vhost_root`), where the runtime has files to look them up in. */
  #vhosts: VhostRoots | undefined;
  #spawned: WorkerGroup<BackendPool<FcgiConnection>> | undefined;
  #capacity: Promise<void> | undefined;
  /** Connections are kept between requests: where the route says so and the runtime lets them outlive a request. */
  readonly #keepAlive: boolean;
  /** The request's hash key, for `balance = "hash"`. */
  readonly #hashKey: HashKeyOf | undefined;
  /** The waits for an answer's first byte and within it, the same for every request. */
  readonly #timeouts: FcgiTimeouts;
  /** Backends to ask again, and from when. */
  readonly #reprobe = new Map<BackendPool<FcgiConnection>, number>();

  constructor(runtime: Runtime, options: FastCgiOptions, name: string) {
    this.#runtime = runtime;
    this.#options = options;
    this.#name = name;
    this.#keepAlive = options.keepalive && runtime.requestScopedIO !== true;
    this.#hashKey = options.hash_key === undefined ? undefined : hashKeyReader(options.hash_key);
    this.#timeouts = { firstByteMs: options.first_byte_timeout, idleMs: options.idle_timeout };
    this.ready = this.#init();
    this.ready.catch(() => undefined);
  }

  async #init(): Promise<void> {
    const o = this.#options;
    const { routing, addresses, spawn } = await fastcgiSetup(this.#runtime, o, this.#name);
    this.#routing = routing;
    if (o.vhost_root !== undefined && this.#runtime.fs) this.#vhosts = new VhostRoots(this.#runtime.fs, o.vhost_root);
    if (o.spawn && spawn) this.#spawned = await spawnBackends(this.#runtime, { ...o.spawn, ...spawn }, this.#name);
    // A spawned php-cgi serves one connection at a time.
    const maxConns = o.max_conns ?? (o.spawn ? 1 : undefined);
    const health = o.health && {
      probe: fastcgiProbe(this.#runtime, this.#routing.root),
      options: o.health,
      lazy: this.#runtime.requestScopedIO === true,
      log: (line: string) => this.#runtime.logError(`${this.#name}: ${line}`),
    };
    this.#upstream = new Upstream(addresses, (addr) => this.#open(addr), poolOptions(o, this.#keepAlive, maxConns), health);
    if (this.#spawned) {
      // Requests wait in the queue while a backend starts: the route serves at once.
      void this.#spawned.start(this.#upstream);
      this.#capacity = Promise.resolve();
    } else if (o.max_conns !== undefined) {
      this.#capacity = Promise.resolve();
    }
  }

  async #open(addr: Address): Promise<FcgiConnection> {
    const timeoutMs = this.#options.connect_timeout;
    try {
      const connect = () => this.#runtime.connect(addr, { timeoutMs });
      const duplex = await (this.#spawned ? this.#spawned.connect(addr, connect, timeoutMs) : connect());
      return new FcgiConnection(duplex, this.#multiplexed.has(formatAddress(addr)));
    } catch (err) {
      if ((err as Error).name === "TimeoutError") {
        throw new GatewayError("BACKEND_CONNECT_TIMEOUT", `connecting to ${formatAddress(addr)} took over ${timeoutMs} ms`);
      }
      throw new GatewayError("BACKEND_UNREACHABLE", `${formatAddress(addr)}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Asks every backend what it can take, once; the first requests wait for
   * the answers, at most PROBE_TIMEOUT_MS. A backend that could not be reached
   * is asked again in the background after fail_timeout.
   */
  #ensureCapacity(): Promise<void> {
    this.#capacity ??= Promise.all(this.#upstream.pools.map((pool) => this.#probe(pool))).then(() => undefined);
    const now = Date.now();
    for (const [pool, at] of this.#reprobe) {
      if (at <= now) void this.#probe(pool);
    }
    return this.#capacity;
  }

  async #probe(pool: BackendPool<FcgiConnection>): Promise<void> {
    this.#reprobe.delete(pool);
    const values = await probeValues(this.#runtime, pool.address, PROBE_TIMEOUT_MS);
    if (values === "unreachable") {
      this.#reprobe.set(pool, Date.now() + this.#options.fail_timeout);
    } else if (values === "silent") {
      return;
    } else if (values.multiplexed) {
      this.#multiplexed.add(formatAddress(pool.address));
      pool.setCapacity(values.maxConns ?? 1, Math.max(1, Math.floor((values.maxReqs ?? 100) / (values.maxConns ?? 1))));
    } else if (values.maxConns !== undefined) {
      pool.setCapacity(values.maxConns);
    }
  }

  /** The answer to a request; undefined hands it to the next route. */
  async handle(c: Context): Promise<Response | undefined> {
    const request = c.req.raw;
    try {
      await this.ready;
      const o = this.#options;
      const target = requestTarget(request.url, clientTargetOf(c.env));
      const safe = safePath(target.pathname);
      if (!safe.ok) return errorResponse(safe.status);
      // A `script` route is mounted at its prefix whatever strip_prefix says.
      const { mount, path } = rootedPath(safe.path, routePath(c), o.strip_prefix || o.script !== undefined);
      const routing = await this.#routingFor(request);
      const script = await resolveScript(mount, path, routing);
      if (script.kind === "directory") return redirectToDirectory(target.requestUri);
      if (script.kind === "none") return o.fallthrough || o.extensions ? undefined : errorResponse(404);
      const { body, contentLength } = await forwardedBody(request, {
        maxBodySize: o.max_body_size,
        maxBufferedBody: o.max_buffered_body,
      });
      const params = cgiEnv({
        request,
        target,
        conn: connOf(c),
        scriptName: script.scriptName,
        pathInfo: script.pathInfo,
        documentRoot: routing.root,
        scriptFilename: script.scriptFilename,
        extra: contentLength === undefined ? o.params : { ...o.params, CONTENT_LENGTH: contentLength },
        underscoresInHeaders: o.underscores_in_headers,
        variables: variablesOf(c.env),
      });
      await this.#ensureCapacity();
      return await fcgiRequest(this.#upstream, {
        params,
        body,
        head: request.method === "HEAD",
        repeatable: mayRepeat(request.method, body),
        key: this.#hashKey?.(request, connOf(c).remoteAddress),
        onClientGone: (listener) => onClientGone(c, listener),
        record: recordOf(c.env),
        keepAlive: this.#keepAlive,
        timeouts: this.#timeouts,
        maxHeaderBytes: o.max_response_header_size,
        logStderr: (text) => logRequestError(this.#runtime, c.env, `${this.#name}: ${target.pathname}: stderr: ${text}`),
        logCut: (reason) => logCut(this.#runtime, this.#name, target.pathname, reason, c.env),
        runOn: this.#runtime.requestScopedIO !== true,
      });
    } catch (err) {
      return failure(this.#runtime, this.#name, err, c.env);
    }
  }

  /** Where the request's scripts are: under its host's `vhost_root` where there is one, else `root`. */
  async #routingFor(request: Request): Promise<ScriptRouting> {
    const routing = this.#routing;
    const vhost = await this.#vhosts?.rootFor(request);
    if (!vhost || !routing.files) return routing;
    const symlinks = SymlinkPolicy.forRoute(this.#runtime, this.#options.follow_symlinks, vhost.realRoot, this.#name);
    return { ...routing, ...vhost, files: { ...routing.files, symlinks } };
  }

  stats(): RouteStats {
    return { ...this.#upstream?.stats(), ...this.#spawned?.stats() };
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    await this.#upstream?.close();
    await this.#spawned?.stop();
  }
}
