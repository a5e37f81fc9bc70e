// The proxy gateway: a route's requests as HTTP/1.1 to one of its backends
// (lighttpd's mod_proxy, nginx's proxy_pass, Caddy's reverse_proxy), on kept
// connections balanced, checked and timed as every backend gateway's are
// (src/backend/), the answer read by answer.ts; WebSocket upgrades go
// through upgrade.ts.

import type { Context } from "hono";
import { connectBackend } from "../../src/backend/connect.ts";
import { hashKeyReader, type HashKeyOf } from "../../src/backend/hash-key.ts";
import { poolOptions } from "../../src/backend/options.ts";
import { mayRepeat } from "../../src/backend/retry.ts";
import { StreamConnection, streamRequest } from "../../src/backend/stream-exchange.ts";
import { streamProbe } from "../../src/backend/stream-probe.ts";
import { Upstream } from "../../src/backend/upstream.ts";
import type { RouteStats } from "../../src/metrics/stats.ts";
import { forwardedBody } from "../../src/http/request-body.ts";
import type { Runtime } from "../../src/runtime.ts";
import { backendSetup } from "../checks/common.ts";
import { connOf, failure, logCut, onClientGone, type GatewayHandler } from "../handler.ts";
import { recordOf } from "../../src/request-record.ts";
import { forwardedBy } from "../trusted-proxies.ts";
import { HttpAnswer } from "./answer.ts";
import { backendAddressText } from "./backend-url.ts";
import { backendHeaders, type HopFacts } from "./headers.ts";
import type { ProxyOptions } from "./options.ts";
import { encodeRequestHead } from "./request-head.ts";
import { isUpgrade, proxyUpgrade, upgradeOf } from "./upgrade.ts";

/** The handler of a route whose options were validated (see gateways/index.ts). */
export function createProxy(runtime: Runtime, options: ProxyOptions, name: string): GatewayHandler {
  const gateway = new ProxyGateway(runtime, options, name);
  return Object.assign((c: Context) => gateway.handle(c), {
    ready: gateway.ready,
    close: () => gateway.close(),
    stats: () => gateway.stats(),
  });
}

class ProxyGateway {
  readonly ready: Promise<void>;
  readonly #runtime: Runtime;
  readonly #options: ProxyOptions;
  readonly #name: string;
  readonly #hashKey: HashKeyOf | undefined;
  #upstream!: Upstream<StreamConnection>;

  constructor(runtime: Runtime, options: ProxyOptions, name: string) {
    this.#runtime = runtime;
    this.#options = options;
    this.#name = name;
    this.#hashKey = options.hash_key === undefined ? undefined : hashKeyReader(options.hash_key);
    this.ready = this.#init();
    this.ready.catch(() => undefined);
  }

  async #init(): Promise<void> {
    const o = this.#options;
    // The schema's check refused every entry that has no address text.
    const addresses = backendSetup(this.#runtime, o.backend.map((entry) => backendAddressText(entry) as string), this.#name);
    const health = o.health && {
      probe: streamProbe(
        this.#runtime,
        (vars) => encodeRequestHead("GET", vars.REQUEST_URI!, [["host", o.host_header ?? vars.SERVER_NAME!], ["connection", "close"]]),
        (maxHead) => new HttpAnswer(maxHead, false),
      ),
      options: o.health,
      lazy: this.#runtime.requestScopedIO === true,
      log: (line: string) => this.#runtime.logError(`${this.#name}: ${line}`),
    };
    const open = async (addr: Parameters<typeof connectBackend>[1]) => new StreamConnection(await connectBackend(this.#runtime, addr, o.connect_timeout));
    this.#upstream = new Upstream(addresses, open, poolOptions(o, o.keepalive && this.#runtime.requestScopedIO !== true, o.max_conns), health);
  }

  async handle(c: Context): Promise<Response> {
    const request = c.req.raw;
    try {
      await this.ready;
      const o = this.#options;
      const url = new URL(request.url);
      const target = url.pathname + url.search;
      const hop = this.#hop(c, url);
      const key = this.#hashKey?.(request, connOf(c).remoteAddress);
      const upgrade = o.websocket ? upgradeOf(c.env) : undefined;
      if (upgrade !== undefined && isUpgrade(request)) {
        const head = encodeRequestHead(request.method, target, backendHeaders(request.headers, { ...hop, upgrade: "websocket", noExtensions: upgrade.messages === true }));
        return await proxyUpgrade(this.#upstream, upgrade, { head, key, timeouts: this.#timeouts(), maxHeaderBytes: o.max_response_header_size });
      }
      const { body, contentLength } = await forwardedBody(request, { maxBodySize: o.max_body_size, maxBufferedBody: o.max_buffered_body });
      const length = body === null ? undefined : (contentLength ?? request.headers.get("content-length") ?? undefined);
      // RFC 9110 §8.6: a body-less POST or PUT still says so (some servers wait for a length otherwise).
      const declared = length ?? (request.method === "POST" || request.method === "PUT" ? "0" : undefined);
      const head = encodeRequestHead(request.method, target, backendHeaders(request.headers, { ...hop, ...(declared === undefined ? {} : { contentLength: declared }) }));
      const isHead = request.method === "HEAD";
      let answer: HttpAnswer | undefined;
      return await streamRequest(this.#upstream, {
        head,
        body,
        isHead,
        repeatable: mayRepeat(request.method, body),
        key,
        onClientGone: (listener) => onClientGone(c, listener),
        record: recordOf(c.env),
        timeouts: this.#timeouts(),
        parser: () => (answer = new HttpAnswer(o.max_response_header_size, isHead)),
        decoder: () => answer!.decoder(),
        logCut: (reason) => logCut(this.#runtime, this.#name, url.pathname, reason, c.env),
        runOn: this.#runtime.requestScopedIO !== true,
      });
    } catch (err) {
      return failure(this.#runtime, this.#name, err, c.env);
    }
  }

  /** Who this hop's forwarding fields name, and the Host the backend is sent. */
  #hop(c: Context, url: URL): HopFacts {
    const by = forwardedBy(c.env);
    const clientHost = c.req.raw.headers.get("host") ?? url.host;
    return { peer: by ?? connOf(c), believed: by !== undefined, host: this.#options.host_header ?? clientHost, clientHost };
  }

  #timeouts() {
    return { firstByteMs: this.#options.first_byte_timeout, idleMs: this.#options.idle_timeout };
  }

  stats(): RouteStats {
    return { ...this.#upstream?.stats() };
  }

  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    await this.#upstream?.close();
  }
}
