// Certificate reload for servers that cannot swap a listener's certificate
// in place (Deno.serve, Bun.serve): a second server is started on the same
// address with SO_REUSEPORT and the new certificate, then the old one stops
// accepting and finishes its requests in flight (nginx's binary upgrade, in
// one process). Without SO_REUSEPORT, the old server stops accepting first
// and the new one binds as soon as the port is free: connections attempted
// in between are refused. What a runtime's TLS server cannot do at all is refused at
// start, never ignored: a client certificate asked for and not checked would
// let anyone in.

import type { TlsMaterial } from "../../src/tls/material.ts";
import type { ClientAuth } from "../../src/tls/options.ts";

/** What a runtime's TLS server can do of `[tls]`: SNI, and which `client_auth` values it honours. */
export interface TlsAbilities {
  sni: boolean;
  clientAuth: readonly ClientAuth[];
}
import { ListenError } from "./serve.ts";

/** The `[tls]` settings a runtime's server has no way to honour, named for the error. */
export function unsupportedTls(material: TlsMaterial, runtime: string, can: TlsAbilities): string | undefined {
  if (!can.clientAuth.includes(material.clientAuth)) {
    const why = can.clientAuth.length === 1 ? "cannot ask for client certificates" : `cannot tell the backend whether a client certificate was given, which client_auth = "${material.clientAuth}" needs`;
    return `${runtime}'s server ${why} (tls.client_auth); see docs/tls.md`;
  }
  if (!can.sni && material.certs.length > 0) return `${runtime}'s server presents one certificate only ([[tls.certs]]); see docs/tls.md`;
  return undefined;
}

/** Throws the ListenError for `text` when the runtime cannot serve `material`. */
export function checkTlsSupport(text: string, material: TlsMaterial, runtime: string, can: TlsAbilities): void {
  const why = unsupportedTls(material, runtime, can);
  if (why !== undefined) throw new ListenError(text, why);
}

/** One listen address's server, replaced by a new one on reload. */
export interface Relisten<S> {
  /** Index of the address in the server list. */
  index: number;
  /** Starts a server with `material` on the address already bound (SO_REUSEPORT). */
  start(material: TlsMaterial): S | Promise<S>;
}

/**
 * Replaces each listed server with one started with `material`, then stops
 * the old ones (requests in flight finish; their idle keep-alive
 * connections are closed, and clients open new ones).
 */
export async function relisten<S>(servers: S[], listeners: Relisten<S>[], material: TlsMaterial, stop: (server: S) => Promise<void>): Promise<void> {
  const started = await Promise.all(listeners.map(async (l) => [l.index, await l.start(material)] as const));
  const old = started.map(([index, server]) => {
    const previous = servers[index]!;
    servers[index] = server;
    return previous;
  });
  await Promise.all(old.map(stop));
}

/** How long a port closed by a server's shutdown is waited for. */
const REBIND_MS = 5_000;

/**
 * Stops each listed server from accepting, then starts its replacement with
 * `material` once the port is free (the old one finishes its requests in
 * flight meanwhile); for servers that cannot share a port.
 */
export async function relistenAfter<S>(servers: S[], listeners: Relisten<S>[], material: TlsMaterial, stop: (server: S) => Promise<void>): Promise<void> {
  const draining: Promise<void>[] = [];
  for (const l of listeners) {
    draining.push(stop(servers[l.index]!));
    const deadline = Date.now() + REBIND_MS;
    for (;;) {
      try {
        servers[l.index] = await l.start(material);
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== "EADDRINUSE" && !(err instanceof Error && err.name === "AddrInUse")) throw err;
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
  await Promise.all(draining);
}
