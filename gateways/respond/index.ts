// A route that answers every request on its path with the same status and
// body, whatever the method, never reading the request body: the way to keep
// clients out of a directory an application ships beside its pages
// (DokuWiki's inc/ and bin/, a vendor/ tree), or to answer a health check.

import type { Context } from "hono";
import { errorResponse } from "../../src/errors.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { GatewayHandler } from "../handler.ts";
import type { RespondOptions } from "./options.ts";

export function createRespond(_runtime: Runtime, options: RespondOptions): GatewayHandler {
  const { status, body } = options;
  // RFC 9110 §15.3.5, §15.4.5: 204 and 304 have no content.
  const empty = status === 204 || status === 304;
  const answer = async (c: Context): Promise<Response> => {
    if (body === undefined && status >= 400) return errorResponse(status);
    // A HEAD answer has the GET answer's fields, no content (RFC 9110 §9.3.2).
    const content = body === undefined || empty || c.req.method === "HEAD" ? null : body;
    const headers = body === undefined || empty ? undefined : { "content-type": "text/plain; charset=utf-8" };
    return new Response(content, { status, headers });
  };
  return Object.assign(answer, { ready: Promise.resolve(), close: () => Promise.resolve() });
}
