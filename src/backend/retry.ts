// Sending a request again on another backend when the one it went to dropped
// it before answering: only a request whose repetition is harmless (RFC 9110
// §9.2.2, idempotent methods) and whose body can be sent again (none, or held
// whole in memory; a streamed body is gone once sent). The answer is built
// only once a backend's head has arrived, so nothing has reached the client
// when a request is sent again. nginx does the same (proxy_next_upstream
// error, non-idempotent requests excluded since 1.9.13), as does Caddy's
// retry of idempotent requests (lb_retries).

import type { Address } from "../address.ts";
import { GatewayError, isGatewayError } from "../errors.ts";
import type { Closable, Lease } from "../pool.ts";
import type { Upstream } from "./upstream.ts";
import type { OnCancel } from "../waiter-queue.ts";
import type { RequestRecord } from "../request-record.ts";

/** RFC 9110 §9.2.2: the methods for which several identical requests have the effect of one. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/** A request that may be sent again: idempotent, and its body (if any) in hand. */
export function mayRepeat(method: string, body: Uint8Array | ReadableStream<Uint8Array> | null): boolean {
  return IDEMPOTENT.has(method) && !(body instanceof ReadableStream);
}

/** The backend closed or reset the connection before its answer's head: nothing of it reached the client. */
export class BackendDropped extends GatewayError {
  constructor(detail: string, cause: unknown) {
    super("BACKEND_UNREACHABLE", detail, { cause });
  }
}

export interface SendOptions {
  /** Receives the function that withdraws the request from the queue (see Upstream.acquire). */
  onCancel?: OnCancel;
  /** The request's hash key, for `balance = "hash"`. */
  key?: string;
  /** See mayRepeat(). */
  repeatable: boolean;
  /** The request's record: told which backend each try goes to, and when the answer's head came. */
  record?: RequestRecord;
}

/**
 * Sends a request with `send` on a leased connection. When the backend drops
 * it (`send` rejects with BackendDropped):
 * - on a new connection, the backend is avoided for fail_timeout (nginx's
 *   max_fails=1) and, if the request may be repeated, it goes to another
 *   backend, at most once per backend; when none has room it waits in the
 *   queue of the next one of its order (bounded by max_queue and
 *   queue_timeout) rather than fail while a healthy backend is only busy;
 * - on a kept connection, the backend may simply have closed it while it sat
 *   idle (php-fpm's children end after pm.max_requests): it is not marked,
 *   its other idle connections are closed too (a restart leaves them all
 *   dead), and a request that may be repeated is sent once more, on a new
 *   connection to it or to another (nginx does not count a failed cached
 *   connection as a try either). It takes its turn as a new request does,
 *   queue included: under load the room it leaves goes at once to a queued
 *   request, and the backend is not at fault.
 * A backend that sends no answer's head in time (first_byte_timeout, or
 * idle_timeout once it has begun) is avoided for fail_timeout too, on a new
 * connection or a kept one (nginx counts timeouts toward max_fails:
 * `proxy_next_upstream`/`fastcgi_next_upstream` default to "error timeout"),
 * but the request is not sent again: the backend may still be working on it.
 * Otherwise the failure is the answer.
 */
export async function sendWithRetry<C extends Closable, T>(
  upstream: Upstream<C>,
  options: SendOptions,
  send: (lease: Lease<C>) => Promise<T>,
): Promise<T> {
  const tried = new Set<Address>();
  const stale = new Set<Address>();
  let lease = await upstream.acquire(options.onCancel, options.key);
  for (;;) {
    try {
      options.record?.sendingTo(lease.backend);
      const answer = await send(lease);
      options.record?.answered();
      return answer;
    } catch (err) {
      if (isTimeout(err)) lease.fail(err);
      if (!(err instanceof BackendDropped)) throw err;
      if (lease.reused && !stale.has(lease.backend)) {
        stale.add(lease.backend);
        lease.stale();
        if (!options.repeatable) throw err;
        lease = await upstream.acquire(options.onCancel, options.key);
        continue;
      }
      if (!lease.reused) lease.fail(err);
      tried.add(lease.backend);
      const next = options.repeatable ? upstream.retry(tried, options.key, options.onCancel) : undefined;
      if (next === undefined) throw err;
      lease = await next;
    }
  }
}

/** No head from the backend in time: a failure of the backend, unlike its answers (a protocol error, OVERLOADED). */
function isTimeout(err: unknown): boolean {
  return isGatewayError(err) && (err.code === "BACKEND_FIRST_BYTE_TIMEOUT" || err.code === "BACKEND_IDLE_TIMEOUT");
}
