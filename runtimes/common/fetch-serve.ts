// What a runtime whose server hands over a Fetch Request (Deno.serve,
// Bun.serve) does before the app sees it: the request-head checks the Node
// server makes on the raw head (src/http/request-head.ts), as far as a
// Request still shows them, and the answer for a refused one.

import { errorResponse } from "../../src/errors.ts";
import { checkRequestHead, type RequestHeadLimits } from "../../src/http/request-head.ts";

/**
 * The request's HTTP version, which a Fetch Request does not show: one the
 * runtime's parser let through without Host was HTTP/1.0 (RFC 9112 §3.2
 * requires Host of 1.1).
 */
export function httpVersionOf(request: Request): "1.0" | "1.1" {
  return request.headers.has("host") ? "1.1" : "1.0";
}

/** The head as checkRequestHead reads it, rebuilt from a Request (its fields already joined by the runtime's parser). */
function headOf(request: Request): { method: string; target: string; httpVersion: string; rawHeaders: string[] } {
  const url = new URL(request.url);
  const rawHeaders: string[] = [];
  request.headers.forEach((value, name) => rawHeaders.push(name, value));
  return { method: request.method, target: url.pathname + url.search, httpVersion: httpVersionOf(request), rawHeaders };
}

/** The answer to a request the checks refuse, or undefined when it may go to the app. */
export function refusal(request: Request, limits: RequestHeadLimits | undefined): Response | undefined {
  const refused = checkRequestHead(headOf(request), limits);
  if (!refused) return undefined;
  return errorResponse(refused.status, { close: true });
}
