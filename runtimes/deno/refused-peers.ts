// Deno.serve keeps a connection open after a response that says
// `Connection: close`, and a handler has no way to close it; a request
// pipelined behind a refused one (RFC 9112 §9.6: the bytes after a request
// the server could not frame may be a smuggled request) would then reach the
// app. So the connections that got such an answer are remembered by their
// peer's address and port, and every later request on them is refused as well.
//
// What is pipelined behind a request arrives with it; a client that reads
// Connection: close sends nothing more. So a peer is remembered briefly: a
// proxy in front, whose many connections come from one address, may soon
// open a new one from the same port, and that one must not be refused.

/** How long a refused connection's later requests are refused. */
const REMEMBER_MS = 5_000;
/** Most connections remembered at once; the oldest go first. */
const MAX_PEERS = 4096;

export class RefusedPeers {
  readonly #until = new Map<string, number>();

  /** Notes that the connection from `peer` must carry no more requests. */
  add(peer: string): void {
    this.#until.delete(peer);
    this.#until.set(peer, Date.now() + REMEMBER_MS);
    if (this.#until.size > MAX_PEERS) this.#until.delete(this.#until.keys().next().value!);
  }

  has(peer: string): boolean {
    const until = this.#until.get(peer);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#until.delete(peer);
    return false;
  }
}

/** A TCP peer as `address port`; undefined for a unix socket, whose peers have no name to tell them apart. */
export function peerOf(remote: { hostname?: string; port?: number }): string | undefined {
  return remote.hostname === undefined || remote.port === undefined ? undefined : `${remote.hostname} ${remote.port}`;
}
