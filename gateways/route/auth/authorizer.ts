// The FastCGI Authorizer role (FastCGI spec §6.3; lighttpd's fastcgi `mode =
// "authorizer"`): before a route serves a request, its head goes to a FastCGI
// application as an FCGI_AUTHORIZER request, without a body. A 200 answer
// lets the request through, its `Variable-NAME: value` fields becoming the
// backend's CGI variables NAME; any other answer is the client's, without
// those fields. The request is sent by the FastCGI gateway's client, over
// src/backend's Upstream, as any FastCGI request.

import type { Context } from "hono";
import { formatAddress, type Address } from "../../../src/address.ts";
import { poolOptions } from "../../../src/backend/options.ts";
import { Upstream } from "../../../src/backend/upstream.ts";
import { Problems } from "../../../src/check/problems.ts";
import { cgiEnv, variablesOf } from "../../../src/cgi/env.ts";
import type { CgiHead } from "../../../src/cgi/response.ts";
import { requestTarget } from "../../../src/cgi/target.ts";
import { GatewayError } from "../../../src/errors.ts";
import type { Runtime } from "../../../src/runtime.ts";
import { backendAddresses } from "../../checks/common.ts";
import { fcgiRequest } from "../../fastcgi/client.ts";
import { FcgiConnection } from "../../fastcgi/connection.ts";
import { Role } from "../../fastcgi/record.ts";
import { connOf, failure, logCut, logRequestError, onClientGone } from "../../handler.ts";
import { clientTargetOf } from "../../request-path.ts";
import type { AuthorizerOptions } from "./fields.ts";

/** Largest head an authorizer may answer with. */
const MAX_HEAD_BYTES = 64 * 1024;
/** §6.3: "Variable-" starts the fields that pass variables on. */
const VARIABLE_PREFIX = "variable-";
/** A CGI meta-variable name (RFC 3875 §4.1: letters, digits, "_"). */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** §6.3: what the Web server does not send an Authorizer: there is no script and no body. */
const NOT_SENT = ["CONTENT_LENGTH", "PATH_INFO", "PATH_TRANSLATED", "SCRIPT_NAME", "DOCUMENT_URI"];

export class FastCgiAuthorizer {
  readonly ready: Promise<void>;
  readonly #runtime: Runtime;
  readonly #options: AuthorizerOptions;
  readonly #route: string;
  readonly #upstream: Upstream<FcgiConnection>;
  readonly #keepAlive: boolean;

  constructor(runtime: Runtime, options: AuthorizerOptions, route: string) {
    this.#runtime = runtime;
    this.#options = options;
    this.#route = route;
    this.#keepAlive = options.keepalive && runtime.requestScopedIO !== true;
    const problems = new Problems(route);
    const addresses = backendAddresses(problems, runtime, options.backend, ["authorizer", "backend"]);
    this.ready = (async () => problems.done())();
    this.ready.catch(() => undefined);
    this.#upstream = new Upstream(addresses, (addr) => this.#open(addr), poolOptions({ ...options, balance: "least_conn" }, this.#keepAlive, options.max_conns));
  }

  async #open(addr: Address): Promise<FcgiConnection> {
    const timeoutMs = this.#options.connect_timeout;
    try {
      return new FcgiConnection(await this.#runtime.connect(addr, { timeoutMs }), false);
    } catch (err) {
      if ((err as Error).name === "TimeoutError") throw new GatewayError("BACKEND_CONNECT_TIMEOUT", `authorizer ${formatAddress(addr)}: connecting took over ${timeoutMs} ms`);
      throw new GatewayError("BACKEND_UNREACHABLE", `authorizer ${formatAddress(addr)}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The variables of the authorizer's 200, or the answer the client gets instead. */
  async authorize(c: Context): Promise<Record<string, string> | Response> {
    const request = c.req.raw;
    const target = requestTarget(request.url, clientTargetOf(c.env));
    const params = cgiEnv({ request, target, conn: connOf(c), scriptName: "", pathInfo: "", scriptFilename: this.#options.script, variables: variablesOf(c.env) });
    for (const name of NOT_SENT) delete params[name];
    let head: CgiHead | undefined;
    let response: Response;
    try {
      response = await fcgiRequest(this.#upstream, {
        params,
        body: null,
        // A refusal of a HEAD is sent without its body, as the route's own answer would be.
        head: request.method === "HEAD",
        repeatable: true,
        onClientGone: (listener) => onClientGone(c, listener),
        keepAlive: this.#keepAlive,
        timeouts: { firstByteMs: this.#options.first_byte_timeout, idleMs: this.#options.idle_timeout },
        maxHeaderBytes: MAX_HEAD_BYTES,
        logStderr: (text) => logRequestError(this.#runtime, c.env, `${this.#route}: authorizer: ${target.pathname}: stderr: ${text}`),
        logCut: (reason) => logCut(this.#runtime, this.#route, `authorizer: ${target.pathname}`, reason, c.env),
        runOn: this.#runtime.requestScopedIO !== true,
        role: Role.AUTHORIZER,
        onHead: (h) => (head = h),
      });
    } catch (err) {
      // An authorizer that cannot be asked lets nobody in: 502 or 504, as the backend of a route would.
      return failure(this.#runtime, `${this.#route}: authorizer`, err, c.env);
    }
    if (response.status !== 200) {
      for (const name of [...response.headers.keys()]) if (name.startsWith(VARIABLE_PREFIX)) response.headers.delete(name);
      return response;
    }
    // Its body means nothing (§6.3); one not yet read is dropped with its connection.
    await response.body?.cancel();
    return this.#variables(head?.headers ?? [], target.pathname);
  }

  /** §6.3: each `Variable-NAME: value` field as NAME = value, in the case the authorizer wrote it. */
  #variables(fields: readonly [string, string][], path: string): Record<string, string> {
    const variables: Record<string, string> = {};
    for (const [field, value] of fields) {
      if (field.length <= VARIABLE_PREFIX.length || field.slice(0, VARIABLE_PREFIX.length).toLowerCase() !== VARIABLE_PREFIX) continue;
      const name = field.slice(VARIABLE_PREFIX.length);
      if (VARIABLE_NAME.test(name)) variables[name] = value;
      else this.#runtime.logError(`${this.#route}: authorizer: ${path}: ${JSON.stringify(field)} names no CGI variable: dropped`);
    }
    return variables;
  }

  close(): Promise<void> {
    return this.#upstream.close();
  }
}
