// A proxy backend as written in `backend`: an `http://host[:port]` URL (port
// 80 when absent) or one of postern's own addresses (src/address.ts:
// `host:port`, `[::1]:port`, `unix:/path`), as the address text the backend
// keys read. TLS to a backend is not spoken (the Runtime's connections are
// plain), so `https://` is refused rather than sent in clear.

import { AddressError, parseAddress } from "../../src/address.ts";

/** The address text of a backend entry, or the problem with it. */
export function backendAddressText(entry: string): string | { problem: string } {
  const text = entry.trim();
  if (/^https:\/\//i.test(text)) return { problem: `${JSON.stringify(entry)}: TLS to backends is not supported; use http:// on a trusted network or a unix socket` };
  let address = text;
  if (/^http:\/\//i.test(text)) {
    const authority = text.slice("http://".length).replace(/\/$/, "");
    if (authority.includes("/") || authority.includes("?")) return { problem: `${JSON.stringify(entry)}: no path after the address (the request's own path is sent)` };
    address = /:\d+$/.test(authority) ? authority : `${authority}:80`;
  }
  try {
    parseAddress(address);
  } catch (err) {
    if (err instanceof AddressError) return { problem: err.message };
    throw err;
  }
  return address;
}
