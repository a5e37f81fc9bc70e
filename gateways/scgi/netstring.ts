// The SCGI request head (SCGI protocol specification, Neil Schemenauer,
// 2006): a netstring — its length in decimal, ":", the bytes, "," — holding
// NUL-terminated names and values. CONTENT_LENGTH comes first and is always
// there ("0" without a body), then SCGI with the value "1"; names appear
// once; values may be empty. The request body follows the netstring.

const encoder = new TextEncoder();
const NUL = 0;

/**
 * The netstring for `vars` (sent as UTF-8), CONTENT_LENGTH and SCGI=1 put
 * first whatever `vars` holds of them. A NUL in a name or value would end it
 * early and shift every later pair: refused (the route's `env` is checked at
 * startup; a request cannot put one in a variable).
 */
export function encodeScgiHeaders(vars: Record<string, string>): Uint8Array {
  const pairs: [string, string][] = [
    ["CONTENT_LENGTH", vars.CONTENT_LENGTH ?? "0"],
    ["SCGI", "1"],
  ];
  for (const name in vars) if (name !== "CONTENT_LENGTH" && name !== "SCGI") pairs.push([name, vars[name]!]);
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const [name, value] of pairs) {
    const key = encoder.encode(name);
    const text = encoder.encode(value);
    if (key.byteLength === 0 || key.includes(NUL) || text.includes(NUL)) throw new RangeError(`SCGI variable ${JSON.stringify(name)}: an empty name, or a NUL byte, cannot be sent`);
    parts.push(key, text);
    size += key.byteLength + text.byteLength + 2;
  }
  const prefix = encoder.encode(`${size}:`);
  const head = new Uint8Array(prefix.byteLength + size + 1);
  head.set(prefix);
  let at = prefix.byteLength;
  for (const part of parts) {
    head.set(part, at);
    at += part.byteLength;
    head[at++] = NUL;
  }
  head[at] = 0x2c; // ","
  return head;
}
