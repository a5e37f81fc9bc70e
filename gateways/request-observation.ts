// The app's request observation (second of createApp's middleware, after the
// trusted proxies that give it the client's address): a record of each
// client request (src/request-record.ts), put where its route and backend
// add to it and its error lines find it, and finished once the answer is over — its last byte taken by
// the server, or its client gone — then written to the access log and handed
// to the observer's listeners (the metrics). The answer's body is counted as
// the server takes it (src/http/counted-body.ts).

import type { Context, MiddlewareHandler } from "hono";
import { countedBody } from "../src/http/counted-body.ts";
import { reasonPhraseOf, withReasonPhrase } from "../src/http/reason-phrase.ts";
import { pathAndQuery } from "../src/paths.ts";
import { recordFields, recordOf, RequestObserver, RequestRecord } from "../src/request-record.ts";
import type { Runtime } from "../src/runtime.ts";
import { connOf, derivedEnv, onClientGone } from "./handler.ts";
import { clientTargetOf } from "./request-path.ts";

/** Records each request; `accessLog` writes a finished one's line (absent: access_log = "off"). */
export function observeRequests(runtime: Runtime, observer: RequestObserver, accessLog?: (record: RequestRecord) => void): MiddlewareHandler {
  const complain = (err: unknown) => runtime.logError(`request observation: ${err instanceof Error ? err.message : String(err)}`);
  return async (c, next) => {
    // A local redirect's inner request adds to its client's record.
    if (recordOf(c.env) !== undefined) return next();
    const record = new RequestRecord(recordedRequest(c));
    c.env = derivedEnv(c.env, recordFields(record));
    // Without an access log or a listener nobody asks when the answer ends; error lines still name the request.
    if (accessLog === undefined && !observer.observed) return next();
    let over = false;
    const finish = (completed: boolean) => {
      if (over) return;
      over = true;
      stopListening();
      record.finish(completed);
      accessLog?.(record);
      observer.done(record, complain);
    };
    // The server cancels a body its client left; one it has not begun reading when the client leaves is over too.
    const stopListening = onClientGone(c, () => finish(false));
    await next();
    const response = c.res;
    record.status = response.status;
    // RFC 9110 §9.3.2: a HEAD answer has no body, whatever the handler gave the server to drop.
    if (response.body === null || c.req.method === "HEAD") {
      finish(true);
      return;
    }
    const body = countedBody(response.body, { sent: (n) => (record.bytesSent += n), ended: finish });
    const counted = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    // Unset first: hono's setter would copy the old answer's headers into yet another Response.
    c.res = undefined;
    c.res = withReasonPhrase(counted, reasonPhraseOf(response) ?? "");
  };
}

function recordedRequest(c: Context) {
  const request = c.req.raw;
  const conn = connOf(c);
  return {
    method: request.method,
    // The target as the client sent it, where the server rewrote the URL the app sees.
    target: clientTargetOf(c.env)?.target ?? pathAndQuery(request.url),
    protocol: `HTTP/${conn.httpVersion}`,
    client: conn.remoteAddress,
    referer: request.headers.get("referer"),
    userAgent: request.headers.get("user-agent"),
  };
}

/**
 * `handler` that, as it is entered, names its route in the request's record;
 * a route that hands the request on (`next()`: a fall-through, another host)
 * gives the name back to the one before it.
 */
export function recordingRoute<H extends MiddlewareHandler>(handler: H, name: string): H {
  const entered: MiddlewareHandler = (c, next) => {
    const record = recordOf(c.env);
    if (record === undefined) return handler(c, next);
    const before = record.route;
    record.route = name;
    return handler(c, () => {
      record.route = before;
      return next();
    });
  };
  return Object.assign(entered, handler);
}
