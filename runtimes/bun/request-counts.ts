// keepalive_requests on Bun.serve, which has no setting for it: each
// connection's requests are counted under its peer's address and port (its
// name while it lasts), and the last one allowed is answered with
// `Connection: close`, after which Bun closes the connection (RFC 9112 §9.6).
// A count left alone longer than the idle timeout belongs to a connection
// Bun has closed since: a new one from the same port starts afresh.

/** Most connections counted at once; the least recently seen go first (their count starts over: the limit is only ever looser). */
const MAX_CONNECTIONS = 4096;

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
    this.#seen.delete(peer);
    if (count >= this.#limit) return true;
    this.#seen.set(peer, { count, at: now });
    if (this.#seen.size > MAX_CONNECTIONS) this.#seen.delete(this.#seen.keys().next().value!);
    return false;
  }
}

/** `response` saying `Connection: close` (a copy when its headers cannot change). */
export function closing(response: Response): Response {
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set("connection", "close");
    return copy;
  }
}
