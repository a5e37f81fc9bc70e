// How a route spreads requests over its backends: the order in which one
// request tries them. Pure, so that distribution and stickiness can be tested
// without a network; src/backend/upstream.ts takes the first backend of the
// order that is healthy and has room.
//
// - least_conn: fewest requests in flight first (nginx `least_conn`, Caddy
//   `least_conn`); ties go to the backend listed first.
// - round_robin: each request starts one backend further (nginx's default).
// - hash: rendezvous hashing (Thaler and Ravishankar, "Using Name-Based
//   Mappings to Increase Hit Rates", 1998): each backend scores
//   hash(key, backend) and the order is by score. A backend that goes away
//   moves only the clients that were on it; each of them goes to the next
//   backend of its own order, and comes back when it returns (nginx's
//   `hash ... consistent` promises the same with a ring).

import type { BalancePolicy } from "./options.ts";

export interface Balancer {
  /**
   * Indices of the backends in the order this request tries them. `loads`
   * are the requests in flight on each backend; `key` is the request's hash
   * key (undefined without one: then the least busy goes first).
   */
  order(loads: readonly number[], key?: string): number[];
  /** The request went to backend `index` (round_robin moves past it). */
  chose(index: number): void;
}

/**
 * A balancer for backends named `names` (their addresses: a hash depends on
 * the name, not the place in the list). The list is read at each order():
 * its owner may change it as backends join and leave (src/backend/upstream.ts).
 */
export function balancer(policy: BalancePolicy, names: readonly string[]): Balancer {
  switch (policy) {
    case "least_conn":
      return { order: leastConn, chose: () => undefined };
    case "round_robin":
      return new RoundRobin();
    case "hash":
      return { order: (loads, key) => (key === undefined ? leastConn(loads) : rendezvous(names, key)), chose: () => undefined };
  }
}

function leastConn(loads: readonly number[]): number[] {
  return loads.map((_, i) => i).sort((a, b) => loads[a]! - loads[b]! || a - b);
}

class RoundRobin implements Balancer {
  /** The backend after the last one chosen (taken modulo the current count). */
  #next = 0;

  order(loads: readonly number[]): number[] {
    const count = loads.length;
    return Array.from({ length: count }, (_, i) => (this.#next + i) % count);
  }

  chose(index: number): void {
    this.#next = index + 1;
  }
}

/** Backends by descending hash(key, name); ties (a 32-bit collision) by list order. */
export function rendezvous(names: readonly string[], key: string): number[] {
  const seed = fnv1a(key, FNV_OFFSET);
  const scores = names.map((name) => mix(fnv1a(name, fnv1a("\0", seed))));
  return names.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the UTF-16 code units of `text`, continuing from `hash`. */
function fnv1a(text: string, hash: number): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** MurmurHash3's finalizer: FNV's low bits are poorly mixed for short strings that differ at the end. */
function mix(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
