// What a runtime's TLS server is given: the PEM text of the certificates and
// keys `[tls]` names (read by the CLI, as a runtime reads files), and which
// certificate a TLS server name (SNI, RFC 6066 §3) is answered with.

import { hostMatcher, hostName } from "../http/host-pattern.ts";
import type { ClientAuth } from "./options.ts";

/** A certificate chain and its key, as PEM text. */
export interface KeyPair {
  cert: string;
  key: string;
}

/** A certificate for the server names `hosts` match (src/http/host-pattern.ts). */
export interface NamedKeyPair extends KeyPair {
  hosts: readonly string[];
}

export interface TlsMaterial extends KeyPair {
  /** Certificate authorities client certificates are checked against. */
  ca?: string;
  clientAuth: ClientAuth;
  /** Certificates chosen by SNI; the first match wins, the top-level pair answers the rest. */
  certs: readonly NamedKeyPair[];
}

/** The key pair for a client's server name (absent: the default pair), as nginx picks a server block by SNI. */
export function keyPairFor(material: TlsMaterial, serverName: string | undefined): KeyPair {
  if (serverName === undefined || serverName === "") return material;
  const name = hostName(serverName);
  return material.certs.find((pair) => hostMatcher(pair.hosts)(name)) ?? material;
}
