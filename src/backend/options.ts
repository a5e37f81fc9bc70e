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
  backend: { type: "address[]", doc: "backend address(es); several are balanced (see `balance`)" },
  balance: {
    type: "string",
    default: "least_conn",
    oneOf: BALANCE_POLICIES,
    doc: 'how requests are spread over several backends: "least_conn" (least busy), "round_robin" or "hash" (by `hash_key`)',
  },
  hash_key: { type: "string", doc: 'what a `balance = "hash"` route keeps a client on one backend by: "client_ip", "header:NAME" or "cookie:NAME"' },
  max_conns: { type: "integer", min: 1, doc: "connections a backend serves at once (default: asked of the backend where its protocol can tell, else learned)" },
  max_queue: { type: "integer", default: 1024, min: 0, doc: "requests that may wait for a connection; beyond it 503" },
  queue_timeout: { type: "duration", default: 30_000, min: 1, doc: "longest wait for a connection before 503" },
  keepalive: { type: "boolean", default: true, doc: "reuse connections between requests" },
  keepalive_timeout: { type: "duration", default: 1_000, min: 1, doc: "an idle kept connection is closed after this long" },
  connect_timeout: { type: "duration", default: 5_000, min: 1, doc: "connecting to the backend; beyond it 504" },
  first_byte_timeout: { type: "duration", default: 60_000, min: 1, doc: "from the request sent to the first answer; beyond it 504" },
  idle_timeout: { type: "duration", default: 60_000, min: 1, doc: "between two reads of the answer; beyond it 504" },
  fail_timeout: {
    type: "duration",
    default: 10_000,
    min: 0,
    doc: "a backend that refused or timed out a connection, or dropped a request before its answer, is avoided this long",
  },
  health: {
    type: {
      table: {
        path: { type: "string", default: "/ping", doc: "path asked, in the backend's own protocol" },
        interval: { type: "duration", default: 5_000, min: 1, doc: "time between two checks of a backend" },
        timeout: { type: "duration", default: 2_000, min: 1, doc: "a check not answered in this long fails" },
        status: { type: "integer", default: 200, min: 100, max: 599, doc: "status a passing check answers" },
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
