// The route keys of every gateway that talks to a backend over a connection
// (fastcgi now): where the backends are, how many requests each takes and
// how long one may wait, how requests are spread over several, and how a
// failing one is found out and avoided. One name and one default everywhere
// (nginx's upstream block: max_conns, max_fails/fail_timeout, keepalive,
// hash; Caddy's reverse_proxy lb_policy and health_uri).

import type { Schema, ValidatedOf } from "../config-schema.ts";
import type { PoolOptions } from "../pool.ts";
import { isToken } from "../http/token.ts";

export const BALANCE_POLICIES = ["least_conn", "round_robin", "hash"] as const;
export type BalancePolicy = (typeof BALANCE_POLICIES)[number];

export const backendFields = {
  backend: { type: "address[]", doc: "the backend's address, or several, balanced by `balance`" },
  balance: {
    type: "string",
    default: "least_conn",
    oneOf: BALANCE_POLICIES,
    doc: 'how requests are spread over several backends: `"least_conn"`, the one with the fewest requests in flight (ties: the first listed); `"round_robin"`, each request one backend further; `"hash"`, by `hash_key`, each client to the same backend while it is up',
  },
  hash_key: { type: "string", doc: "with `balance = \"hash\"` only (and required there): `\"client_ip\"` (the client's address, the real one behind `trusted_proxies`), `\"header:NAME\"` (a request header) or `\"cookie:NAME\"` (a cookie); a request without it goes to the least busy backend" },
  max_conns: { type: "integer", min: 1, doc: "requests postern sends each backend at once, on as many connections; more wait in postern's queue. Unset, it is asked of the backend (`FCGI_MAX_CONNS`), else one per `spawn.procs` process, else learned from the backend's answers; set it to php-fpm's `pm.max_children` to skip the learning" },
  max_queue: { type: "integer", default: 1024, min: 0, doc: "requests that may wait for a backend connection; beyond it 503 with `Retry-After`" },
  queue_timeout: { type: "duration", default: 30_000, min: 1, doc: "longest wait for a backend connection; beyond it 503 with `Retry-After`" },
  keepalive: { type: "boolean", default: true, doc: "keep connections to the backend open between requests (FastCGI's `FCGI_KEEP_CONN`)" },
  keepalive_timeout: { type: "duration", default: 1_000, min: 1, doc: "an idle kept backend connection is closed after this long, so that it does not pin a php-fpm child other clients need" },
  connect_timeout: { type: "duration", default: 5_000, min: 1, doc: "longest wait to connect to a backend; beyond it 504" },
  first_byte_timeout: { type: "duration", default: 60_000, min: 1, doc: "from the request body sent whole to the backend to the first bytes of its answer; beyond it 504" },
  idle_timeout: { type: "duration", default: 60_000, min: 1, doc: "longest pause between two reads of a backend's answer: before the head of the answer is complete the client gets 504; after it, the answer is cut (the client's connection is closed, so a shorter body is never taken for a whole one)" },
  fail_timeout: {
    type: "duration",
    default: 10_000,
    min: 0,
    doc: "passive health: a backend that refused or timed out a connection, dropped a request before its answer, or did not answer within `first_byte_timeout` (or `idle_timeout` before its head) is avoided this long. `0`: never avoided",
  },
  health: {
    type: {
      table: {
        path: { type: "string", default: "/ping", doc: "what is asked, in the backend's own protocol (FastCGI: a `GET` with `SCRIPT_NAME` and `REQUEST_URI` set to it, `SCRIPT_FILENAME` to root + it; php-fpm answers `/ping` itself when its pool sets `ping.path = /ping`)" },
        interval: { type: "duration", default: 5_000, min: 1, doc: "time between two checks of each backend" },
        timeout: { type: "duration", default: 2_000, min: 1, doc: "a check not answered in this long fails" },
        status: { type: "integer", default: 200, min: 100, max: 599, doc: "the status of a passing answer (the CGI `Status`; none is 200)" },
        passes: { type: "integer", default: 1, min: 1, doc: "passing checks in a row that bring a down backend back" },
        fails: { type: "integer", default: 2, min: 1, doc: "failing checks in a row that take a backend out" },
      },
    },
    doc: "active health checks: each backend is asked `path` every `interval`; one that fails is given no request",
  },
} as const satisfies Schema;

/** The validated values of backendFields. */
export type BackendOptions = ValidatedOf<typeof backendFields>;

export type HealthOptions = NonNullable<BackendOptions["health"]>;

/** The rules between backendFields' keys, for a gateway schema's check(). */
export function backendProblem(options: Record<string, unknown>): { key: string; message: string } | undefined {
  const health = options.health as HealthOptions | undefined;
  if (health && !health.path.startsWith("/")) {
    return { key: "health.path", message: `must start with "/"; found ${JSON.stringify(health.path)}` };
  }
  const hashKey = options.hash_key;
  if (options.balance === "hash" && hashKey === undefined) {
    return { key: "balance", message: '"hash" needs `hash_key` ("client_ip", "header:NAME" or "cookie:NAME")' };
  }
  if (hashKey === undefined) return undefined;
  if (options.balance !== "hash") return { key: "hash_key", message: 'applies only with balance = "hash"' };
  const form = /^(header|cookie):(.*)$/.exec(hashKey as string);
  if (hashKey !== "client_ip" && !(form && isToken(form[2]!))) {
    return { key: "hash_key", message: `must be "client_ip", "header:NAME" or "cookie:NAME"; found ${JSON.stringify(hashKey)}` };
  }
  return undefined;
}

/** The pool settings of a route's backend keys. */
export function poolOptions(
  o: Pick<BackendOptions, "max_queue" | "queue_timeout" | "keepalive_timeout" | "fail_timeout" | "balance">,
  keepAlive: boolean,
  maxConns: number | undefined,
): PoolOptions {
  return {
    maxConns,
    maxQueue: o.max_queue,
    queueTimeoutMs: o.queue_timeout,
    keepAliveMs: keepAlive ? o.keepalive_timeout : 0,
    failTimeoutMs: o.fail_timeout,
    balance: o.balance,
  };
}
