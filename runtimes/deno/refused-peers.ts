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

import { remember } from "../common/peers.ts";

/** How long a refused connection's later requests are refused. */
const REMEMBER_MS = 5_000;

export class RefusedPeers {
  readonly #until = new Map<string, number>();

  /** Notes that the connection from `peer` must carry no more requests. */
  add(peer: string): void {
    remember(this.#until, peer, Date.now() + REMEMBER_MS);
  }

  has(peer: string): boolean {
    const until = this.#until.get(peer);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#until.delete(peer);
    return false;
  }
}
