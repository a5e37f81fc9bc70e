// A response's own reason phrase (a CGI `Status: 404 Not Here`, an NPH status
// line). Response.statusText carries it in the Web API, but a server may skip
// it, and reading it can cost more than the rest of a small response (Node's
// server builds the whole Response for it); gateways note the phrases they
// got here, and servers look them up.

const reasons = new WeakMap<Response, string>();

/** Records `reason` as the reason phrase of `response`; returns the response. */
export function withReasonPhrase(response: Response, reason: string): Response {
  if (reason !== "") reasons.set(response, reason);
  return response;
}

/** The reason phrase a gateway recorded for `response`, if any. */
export function reasonPhraseOf(response: Response): string | undefined {
  return reasons.get(response);
}
