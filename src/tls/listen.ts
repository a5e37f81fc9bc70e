// Listen addresses with their scheme: `https://127.0.0.1:8443` is served
// with TLS, `127.0.0.1:8080` (or `http://127.0.0.1:8080`) without; what
// follows the scheme is an address as src/address.ts reads it.

import { AddressError, parseAddress, type Address } from "../address.ts";

export interface ListenAddress {
  /** TLS is spoken on it. */
  secure: boolean;
  address: Address;
  /** As written in `listen`. */
  text: string;
}

const SCHEME = /^(https?):\/\//i;

/** A listen address; throws AddressError when it is none. */
export function parseListen(text: string): ListenAddress {
  const scheme = SCHEME.exec(text.trim());
  const rest = scheme ? text.trim().slice(scheme[0].length) : text;
  if (scheme && rest.startsWith("unix:")) throw new AddressError(`${JSON.stringify(text)}: a unix socket takes no scheme`);
  return { secure: scheme?.[1]!.toLowerCase() === "https", address: parseAddress(rest), text };
}

/** Why `text` is no listen address, or undefined. */
export function listenProblem(text: string): string | undefined {
  try {
    parseListen(text);
    return undefined;
  } catch (err) {
    if (err instanceof AddressError) return err.message;
    throw err;
  }
}
