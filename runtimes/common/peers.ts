// What Deno.serve and Bun.serve show of the connection a request came on: its
// peer's address and port, the connection's name while it lasts; and the
// bounded table in which something is remembered about such connections.

/** Most connections remembered at once; the least recently seen go first. */
const MAX_PEERS = 4096;

/** A TCP peer as `address port`; undefined for a unix socket, whose peers have no name to tell them apart. */
export function peerOf(address: string | undefined, port: number | undefined): string | undefined {
  return address === undefined || port === undefined ? undefined : `${address} ${port}`;
}

/** Sets what `table` holds for `peer`, as the most recently seen; past MAX_PEERS the least recently seen is forgotten. */
export function remember<V>(table: Map<string, V>, peer: string, value: V): void {
  table.delete(peer);
  table.set(peer, value);
  if (table.size > MAX_PEERS) table.delete(table.keys().next().value!);
}
