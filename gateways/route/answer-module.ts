// Route modules that only act on the answer (response headers, compression):
// the route's handler run as it is, its Response changed on the way out.

import type { Context } from "hono";
import { reasonPhraseOf, withReasonPhrase } from "../../src/http/reason-phrase.ts";
import type { GatewayHandler } from "../handler.ts";

/** `handler` with `change` applied to every Response it gives (a request passed to the next route is that route's). */
export function changingAnswers(handler: GatewayHandler, change: (response: Response, request: Request) => Response): GatewayHandler {
  const wrapped = async (c: Context, next: () => Promise<void>): Promise<Response | void> => {
    const response = await handler(c, next);
    return response instanceof Response ? change(response, c.req.raw) : response;
  };
  const scale = handler.scale;
  return Object.assign(wrapped, { ready: handler.ready, close: () => handler.close() }, scale ? { scale } : {});
}

/** `response` with other headers and body, its status and reason phrase kept (a Response's own headers may be immutable). */
export function reanswer(response: Response, headers: Headers, body: ReadableStream<Uint8Array> | null = response.body): Response {
  // Not statusText: src/http/reason-phrase.ts says why.
  return withReasonPhrase(new Response(body, { status: response.status, headers }), reasonPhraseOf(response) ?? "");
}
