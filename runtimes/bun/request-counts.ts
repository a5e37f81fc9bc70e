// keepalive_requests on Bun.serve, which has no setting for it: each
// connection's requests are counted under its peer's address and port (its
// name while it lasts), and the last one allowed is answered with
// `Connection: close`, after which Bun closes the connection (RFC 9112 §9.6).
// A connection's name is free again once it closes, and the next connection
// from that port must not inherit its count: a count is dropped with any
// exchange that closes its connection (the last answer, a refusal, a 408, a
// request saying `Connection: close`), and one left alone longer than the
// soonest Bun closes an idle connection belongs to a connection Bun may have
// closed since (Bun's own refusals, such as its 431, are not seen here), or
// to one idle or busy that long with a single request, whose count then
// starts over: the limit is only ever looser.

import { remember } from "../common/peers.ts";

const CLOSE = /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i;

export class RequestCounts {
  readonly #seen = new Map<string, { count: number; at: number }>();
  readonly #limit: number;
  readonly #idleMs: number;

  constructor(limit: number, idleMs: number) {
    this.#limit = limit;
    this.#idleMs = idleMs;
  }

  /** Counts a request on the connection from `peer`; true when it is the last that connection may carry. */
  last(peer: string): boolean {
    const now = Date.now();
    const entry = this.#seen.get(peer);
    const count = entry !== undefined && now - entry.at <= this.#idleMs ? entry.count + 1 : 1;
    if (count >= this.#limit) {
      this.#seen.delete(peer);
      return true;
    }
    // The least recently seen go first when too many are counted: their count starts over, the limit is only ever looser.
    remember(this.#seen, peer, { count, at: now });
    return false;
  }

  /**
   * The answer to `request` on the connection from `peer` (undefined: a unix
   * socket's, whose peers have no name and are not counted), as it is to go
   * out: with `Connection: close` when it is the connection's `last`. An
   * exchange that closes the connection, on either side, ends its count.
   */
  answer(peer: string | undefined, request: Request, response: Response, last: boolean): Response {
    if (last) return closing(response);
    if (peer !== undefined && (closes(response.headers) || closes(request.headers))) this.#seen.delete(peer);
    return response;
  }
}

/** Connection is a list of tokens (RFC 9110 §7.6.1); "close" among them ends the connection (RFC 9112 §9.6). */
function closes(headers: Headers): boolean {
  return CLOSE.test(headers.get("connection") ?? "");
}

/** `response` saying `Connection: close` (a copy when its headers cannot change). */
function closing(response: Response): Response {
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set("connection", "close");
    return copy;
  }
}
