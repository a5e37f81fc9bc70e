// What every runtime's serve() takes and gives back, and what they share in
// binding their listen addresses: the routes' setup first, then every address.

import type { Address } from "../../src/address.ts";
import { normalizeAddress } from "../../src/cgi/conn.ts";
import type { EncodedSlashes } from "../../src/paths.ts";
import type { ClientLimits } from "../../src/client-limits.ts";
import type { ServeEnv } from "../../src/runtime.ts";
import { parseListen, type ListenAddress } from "../../src/tls/listen.ts";
import type { TlsMaterial } from "../../src/tls/material.ts";

export interface Fetchable {
  fetch(request: Request, env: ServeEnv): Response | Promise<Response>;
}

export interface ServeOptions {
  listen: string[];
  /**
   * The `[client]` limits and timeouts (src/client-limits.ts has the
   * defaults); what a runtime's server cannot enforce is listed in the
   * README's runtime table. `bodyTimeout` and `sendTimeout` are enforced by
   * the routes (their `body_timeout` and `send_timeout`), not here.
   */
  client?: Partial<ClientLimits>;
  /** What "%2F" in a request path does before routing (src/paths.ts); "refuse" by default. */
  encodedSlashes?: EncodedSlashes;
  /** The certificates of the `https://` listen addresses (docs/tls.md); required when there is one. */
  tls?: TlsMaterial;
}

export interface RunningServer {
  /** The addresses actually bound (port 0 resolved). */
  readonly addresses: Address[];
  /** Each address's scheme, in the same order: "https" where TLS is spoken. */
  readonly schemes: ("http" | "https")[];
  /**
   * Presents new certificates (a SIGHUP's): connections open go on with the
   * old ones, new handshakes get the new. Resolves with what the runtime
   * could not change (docs/tls.md), empty when everything was.
   */
  reloadTls(material: TlsMaterial): Promise<string[]>;
  /** Stops accepting, waits for in-flight requests, then resolves. */
  close(): Promise<void>;
}

/** A listen address that could not be bound, named as it was written; `cause` is the runtime's own error. */
export class ListenError extends Error {
  readonly address: string;
  readonly reason: string;
  constructor(address: string, reason: string, options?: { cause: unknown }) {
    super(`cannot listen on ${address}: ${reason}`, options);
    this.name = "ListenError";
    this.address = address;
    this.reason = reason;
  }
}

/** A runtime's serve(). */
export type Serve = (app: Fetchable, options: ServeOptions) => Promise<RunningServer>;

/**
 * `serve` that binds nothing until `ready(app)` settles: the routes' setup
 * (their roots, interpreters, modules, spawned backends). A setup error
 * rejects it, so that a server never starts only to answer 502 to every
 * request.
 */
export function afterSetup(ready: (app: Fetchable) => Promise<void>, serve: Serve): Serve {
  return async (app, options) => {
    await ready(app);
    return serve(app, options);
  };
}

/**
 * Binds every listen address with `bind`; if one fails, those already bound
 * are stopped and a ListenError naming the address is thrown (the runtimes'
 * own errors do not all name it).
 */
export async function listenAll<S>(
  listen: string[],
  bind: (addr: Address, servers: S[], secure: boolean) => Promise<Address>,
  stop: (server: S) => Promise<void>,
  tls?: TlsMaterial,
): Promise<{ servers: S[]; addresses: Address[]; schemes: ("http" | "https")[] }> {
  const servers: S[] = [];
  const addresses: Address[] = [];
  const schemes: ("http" | "https")[] = [];
  try {
    for (const text of listen) {
      const where: ListenAddress = parseListen(text);
      if (where.secure && tls === undefined) throw new ListenError(text, "an https:// address needs a [tls] table with `cert` and `key`");
      schemes.push(where.secure ? "https" : "http");
      addresses.push(
        await bind(where.address, servers, where.secure).catch((err: unknown) => {
          throw err instanceof ListenError ? err : new ListenError(text, err instanceof Error ? err.message : String(err), { cause: err });
        }),
      );
    }
  } catch (err) {
    await Promise.all(servers.map(stop));
    throw err;
  }
  return { servers, addresses, schemes };
}

/** `host:port` of an address as a Host field value (RFC 9110 §7.2), IPv6 in brackets; `localhost` on a unix socket. */
export function authorityOf(address: string | undefined, port: number | undefined): string {
  if (!address) return "localhost";
  const host = normalizeAddress(address);
  return `${host.includes(":") ? `[${host}]` : host}:${port ?? 80}`;
}

/** A unix socket's path as each runtime sees it, through its own file and socket calls. */
export interface SocketPath {
  /** What is at the path. */
  kind(path: string): Promise<"socket" | "other" | "none">;
  /**
   * Whether a server accepts connections on the socket: false when the
   * connection is refused (nobody listens: ECONNREFUSED) or the file is gone;
   * true when it is accepted, or when the server is too busy to take it
   * (EAGAIN: its backlog is full); any other failure is thrown.
   */
  answers(path: string): Promise<boolean>;
  remove(path: string): Promise<void>;
}

/**
 * Clears the way for a unix socket: a socket file left by a server that died
 * would make the bind fail, so it is removed — but only when nobody answers
 * on it: a live server's socket is its own, and unlinking it would take its
 * clients away (nginx refuses with EADDRINUSE). Any other file there is not
 * the server's to delete either (Gunicorn's rule): the bind is refused.
 */
export async function clearSocketPath(path: string, socket: SocketPath): Promise<void> {
  const kind = await socket.kind(path);
  if (kind === "other") throw new ListenError(`unix:${path}`, "a file that is not a socket is there");
  if (kind === "none") return;
  let answers: boolean;
  try {
    answers = await socket.answers(path);
  } catch (err) {
    throw new ListenError(`unix:${path}`, `cannot tell whether a server listens there (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (answers) throw new ListenError(`unix:${path}`, "another server is listening there");
  await socket.remove(path);
}
