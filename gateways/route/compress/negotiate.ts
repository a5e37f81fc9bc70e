// Content coding negotiation (RFC 9110 §12.5.3 Accept-Encoding): which of
// the encodings a route offers, in its order of preference, the client takes.

import type { Encoding } from "../../../src/runtime.ts";

/** The q-value (RFC 9110 §12.4.2) of each coding the field names, lowercased; "x-gzip" counts as "gzip" (§8.4.1.3). */
function qualities(field: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const member of field.split(",")) {
    const [name, ...params] = member.split(";").map((part) => part.trim());
    if (!name) continue;
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split("=").map((part) => part.trim());
      // An unreadable weight is taken as 0: a coding the client may have meant to refuse is not sent.
      if (key?.toLowerCase() === "q") q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value ?? "") ? Number(value) : 0;
    }
    const coding = name.toLowerCase() === "x-gzip" ? "gzip" : name.toLowerCase();
    // The same coding named twice: the higher weight counts.
    found.set(coding, Math.max(found.get(coding) ?? 0, q));
  }
  return found;
}

/**
 * The encodings of `offered` (best first) the client takes, by its q-values
 * (highest first), ties going to the earlier in `offered`; a coding the
 * field does not name has `*`'s weight, or none. No field: none, and the
 * answer goes as it is (identity is always acceptable unless refused,
 * §12.5.3; a client refusing it too gets it all the same, as nginx and
 * Caddy do, rather than a 406).
 */
export function acceptedEncodings(acceptEncoding: string | null, offered: readonly Encoding[]): Encoding[] {
  if (acceptEncoding === null || offered.length === 0) return [];
  const weights = qualities(acceptEncoding);
  const any = weights.get("*") ?? 0;
  const weight = (encoding: Encoding) => weights.get(encoding) ?? any;
  // Array.prototype.sort is stable: equal weights keep the route's order.
  return offered.filter((encoding) => weight(encoding) > 0).sort((a, b) => weight(b) - weight(a));
}

/** The encoding to send: the first of acceptedEncodings, if any. */
export function chooseEncoding(acceptEncoding: string | null, offered: readonly Encoding[]): Encoding | undefined {
  return acceptedEncodings(acceptEncoding, offered)[0];
}
