// The route keys of every gateway that talks to a backend over a connection
// (fastcgi now): where the backends are, how many requests each takes and
// how long one may wait, how requests are spread over several, and how a
// failing one is found out and avoided. One name and one default everywhere
// (nginx's upstream block: max_conns, max_fails/fail_timeout, keepalive,
// hash; Caddy's reverse_proxy lb_policy and health_uri).

import type { Schema } from "../config-schema.ts";
import type { PoolOptions } from "../pool.ts";

export const backendFields: Schema = {
  backend: { type: "address[]", doc: "backend address(es); several are balanced (least busy first)" },
  max_conns: { type: "integer", min: 1, doc: "connections a backend serves at once (default: asked with FCGI_GET_VALUES, or procs)" },
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
    doc: "a backend that refused a connection is avoided this long",
  },
};

/** The validated values of backendFields. */
export interface BackendOptions {
  backend?: string[];
  max_conns?: number;
  max_queue: number;
  queue_timeout: number;
  keepalive: boolean;
  keepalive_timeout: number;
  connect_timeout: number;
  first_byte_timeout: number;
  idle_timeout: number;
  fail_timeout: number;
}

/** The pool settings of a route's backend keys. */
export function poolOptions(o: BackendOptions, keepAlive: boolean, maxConns: number | undefined): PoolOptions {
  return {
    maxConns,
    maxQueue: o.max_queue,
    queueTimeoutMs: o.queue_timeout,
    keepAliveMs: keepAlive ? o.keepalive_timeout : 0,
    failTimeoutMs: o.fail_timeout,
  };
}
