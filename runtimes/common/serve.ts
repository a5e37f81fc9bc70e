// What every runtime's serve() takes and gives back, and what they share in
// binding their listen addresses.

import { parseAddress, type Address } from "../../src/address.ts";
import { normalizeAddress } from "../../src/cgi/conn.ts";
import type { RequestHeadLimits } from "../../src/http/request-head.ts";
import type { ServeEnv } from "../../src/runtime.ts";

export interface Fetchable {
  fetch(request: Request, env: ServeEnv): Response | Promise<Response>;
}

export interface ServeOptions {
  listen: string[];
  /** Largest request line plus headers, in bytes: beyond it the client gets 431 (Node; Deno and Bun apply their own). */
  maxHeaderSize?: number;
  /** Field count, field line and request line limits (src/http/request-head.ts has the defaults). */
  limits?: RequestHeadLimits;
}

export interface RunningServer {
  /** The addresses actually bound (port 0 resolved). */
  readonly addresses: Address[];
  /** Stops accepting, waits for in-flight requests, then resolves. */
  close(): Promise<void>;
}

/**
 * Binds every listen address with `bind`; if one fails, those already bound
 * are stopped and the error goes on.
 */
export async function listenAll<S>(
  listen: string[],
  bind: (addr: Address, servers: S[]) => Promise<Address>,
  stop: (server: S) => Promise<void>,
): Promise<{ servers: S[]; addresses: Address[] }> {
  const servers: S[] = [];
  const addresses: Address[] = [];
  try {
    for (const text of listen) addresses.push(await bind(parseAddress(text), servers));
  } catch (err) {
    await Promise.all(servers.map(stop));
    throw err;
  }
  return { servers, addresses };
}

/** `host:port` of an address as a Host field value (RFC 9110 §7.2), IPv6 in brackets; `localhost` on a unix socket. */
export function authorityOf(address: string | undefined, port: number | undefined): string {
  if (!address) return "localhost";
  const host = normalizeAddress(address);
  return `${host.includes(":") ? `[${host}]` : host}:${port ?? 80}`;
}

/**
 * Clears the way for a unix socket: a socket file left by a server that died
 * would make the bind fail, so it is removed; any other file there is not
 * the server's to delete (Gunicorn's rule), and the bind is refused.
 */
export async function clearSocketPath(path: string, kindOf: (path: string) => Promise<"socket" | "other" | "none">, remove: (path: string) => Promise<void>): Promise<void> {
  const kind = await kindOf(path);
  if (kind === "other") throw new Error(`cannot listen on unix:${path}: a file that is not a socket is there`);
  if (kind === "socket") await remove(path);
}
