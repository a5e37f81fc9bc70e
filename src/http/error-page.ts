// The page postern answers with itself, whoever refuses the request (a
// runtime's server before the app, a gateway, the app's 404/500): the status
// line's reason phrase (RFC 9110 §15) and a `<status> <reason>` body, plain
// text, with no backend internals (DESIGN.md, "HTTP answers of the gateway
// itself"). One table, one page.

const REASON: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  414: "URI Too Long",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  // nginx's code for a client that left before its answer; nobody reads the page.
  499: "Client Closed Request",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** The RFC 9110 §15 reason phrase of a status postern answers itself. */
export function reasonPhrase(status: number): string {
  return REASON[status] ?? "Error";
}

export interface ErrorPageOptions {
  /** Seconds, for a 503: sent as Retry-After (RFC 9110 §10.2.3). */
  retryAfter?: number;
  /** The connection ends after this answer: Connection: close (RFC 9112 §9.6). */
  close?: boolean;
  /** Further fields the status calls for (Allow with a 405, RFC 9110 §15.5.6). */
  headers?: Record<string, string>;
}

export interface ErrorPage {
  status: number;
  reason: string;
  /** ASCII only: its length is its byte count. */
  body: string;
  /** Lower-case names; Content-Length included. */
  headers: Record<string, string>;
}

export function errorPage(status: number, options: ErrorPageOptions = {}): ErrorPage {
  const reason = reasonPhrase(status);
  const body = `${status} ${reason}\n`;
  const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8", "content-length": String(body.length), ...options.headers };
  if (options.retryAfter !== undefined) headers["retry-after"] = String(options.retryAfter);
  if (options.close === true) headers.connection = "close";
  return { status, reason, body, headers };
}
