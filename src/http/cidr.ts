// IP addresses and CIDR blocks (RFC 4632 §3.1, RFC 4291 §2.3) for the
// trusted_proxies list, and the address grammar a Host is checked with
// (authority.ts): every address is held as 16 bytes, IPv4 as its
// IPv4-mapped IPv6 form (RFC 4291 §2.5.5.2), so that a dual-stack socket's
// "::ffff:10.0.0.1" and "10.0.0.1" are one address and match "10.0.0.0/8".

const MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

// RFC 3986 §3.2.2 dec-octet: no leading zeros ("010" is octal to inet_aton: refused, as Go's ParseIP does).
const DEC_OCTET = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

function ipv4Bytes(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => DEC_OCTET.test(p))) return null;
  return parts.map(Number);
}

/** RFC 4291 §2.2: eight hextets, "::" once for a run of zeros, an IPv4 tail in the last 32 bits. No zone ("%eth0"). */
function ipv6Bytes(text: string): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const bytes: number[] = [];
  const last = halves.length === 2 ? tail : head;
  // An IPv4 tail stands for the last two hextets.
  let v4: number[] | null = null;
  if (last.length > 0 && last[last.length - 1]!.includes(".")) {
    v4 = ipv4Bytes(last.pop()!);
    if (v4 === null) return null;
  }
  const hextets = head.length + tail.length + (v4 ? 2 : 0);
  if (halves.length === 2 ? hextets > 7 : hextets !== 8) return null;
  const push = (group: string[]) => {
    for (const g of group) {
      if (!HEXTET.test(g)) return false;
      const n = parseInt(g, 16);
      bytes.push(n >> 8, n & 0xff);
    }
    return true;
  };
  if (!push(head)) return null;
  for (let i = hextets; i < 8; i++) bytes.push(0, 0);
  if (!push(tail)) return null;
  if (v4) bytes.push(...v4);
  return bytes;
}

/** True when `text` is an RFC 3986 §3.2.2 IPv4address. */
export function isIpv4(text: string): boolean {
  return ipv4Bytes(text) !== null;
}

/** True when `text` is an RFC 3986 §3.2.2 IPv6address (no zone). */
export function isIpv6(text: string): boolean {
  return ipv6Bytes(text) !== null;
}

/** The 16 bytes of an IPv4 or IPv6 address in text form; null for anything else. */
export function parseIp(text: string): Uint8Array | null {
  if (text.includes(":")) {
    const bytes = ipv6Bytes(text);
    return bytes ? Uint8Array.from(bytes) : null;
  }
  const v4 = ipv4Bytes(text);
  return v4 ? Uint8Array.from([...MAPPED, ...v4]) : null;
}

function isMapped(address: Uint8Array): boolean {
  return MAPPED.every((b, i) => address[i] === b);
}

export interface Cidr {
  bytes: Uint8Array;
  /** Leading bits that must match, 0..128 (an IPv4 prefix plus 96). */
  bits: number;
}

/**
 * An address ("10.0.0.1", "::1": one host) or a block ("10.0.0.0/8",
 * "fd00::/8"); a message saying what is wrong otherwise, host bits set after
 * the prefix included ("10.0.0.1/8": which was meant is unclear).
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseIp(address);
  if (bytes === null) return `expected an IP address or a CIDR block (such as "10.0.0.0/8", "127.0.0.1" or "::1/128"), found ${JSON.stringify(text)}`;
  const v4 = !address.includes(":");
  const width = v4 ? 32 : 128;
  if (slash < 0) return { bytes, bits: 128 };
  const prefix = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > width) {
    return `the prefix length of ${JSON.stringify(text)} must be a number from 0 to ${width}`;
  }
  const cidr = { bytes, bits: Number(prefix) + (v4 ? 96 : 0) };
  const network = masked(bytes, cidr.bits);
  if (!network.every((b, i) => b === bytes[i])) {
    return `${JSON.stringify(text)} has bits set past its prefix; the block is ${JSON.stringify(`${v4 ? formatIp(network) : formatIpv6(network)}/${prefix}`)}`;
  }
  return cidr;
}

/**
 * The family a block holds every address of: "IPv4" for 0.0.0.0/0 and
 * ::ffff:0:0/96 (one block, as IPv4 is held here), "IPv6" for ::/0;
 * undefined for any narrower block.
 */
export function everyAddressIn(cidr: Cidr): "IPv4" | "IPv6" | undefined {
  if (cidr.bits === 0) return "IPv6";
  return cidr.bits === 96 && isMapped(cidr.bytes) ? "IPv4" : undefined;
}

function masked(bytes: Uint8Array, bits: number): Uint8Array {
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
}

/**
 * The one text form of an address (16 bytes, as parseIp gives): an
 * IPv4-mapped one as IPv4, any other as RFC 5952 §4 writes IPv6 (lower case,
 * no leading zeros, the longest run of two or more zero hextets, the first
 * of equals, as "::"). "::FFFF:a00:1" and "10.0.0.1" are one client to an
 * application's allow list, a log and a hash.
 */
export function formatIp(bytes: Uint8Array): string {
  return isMapped(bytes) ? Array.from(bytes.subarray(12)).join(".") : formatIpv6(bytes);
}

function formatIpv6(bytes: Uint8Array): string {
  const hextets: number[] = [];
  for (let i = 0; i < 16; i += 2) hextets.push((bytes[i]! << 8) | bytes[i + 1]!);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let end = i;
    while (end < 8 && hextets[end] === 0) end++;
    if (end - i > bestLength) [best, bestLength] = [i, end - i];
    i = end === i ? i + 1 : end;
  }
  const text = (from: number, to: number) => hextets.slice(from, to).map((h) => h.toString(16)).join(":");
  return best < 0 ? text(0, 8) : `${text(0, best)}::${text(best + bestLength, 8)}`;
}

function contains(cidr: Cidr, address: Uint8Array): boolean {
  // IPv4 addresses are held here as ::ffff:0:0/96, which every IPv6 block
  // wider than /96 from "::" covers; yet "::/0" means every IPv6 peer, not
  // every IPv4 one too (Go's netip.Prefix.Contains matches by family as well).
  if (cidr.bits < 96 && isMapped(address)) return false;
  const whole = cidr.bits >> 3;
  for (let i = 0; i < whole; i++) if (cidr.bytes[i] !== address[i]) return false;
  const rest = cidr.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (cidr.bytes[whole]! & mask) === (address[whole]! & mask);
}

/** A set of addresses and blocks: is a peer one of them. */
export class AddressSet {
  readonly #blocks: Cidr[];

  /** Throws an Error naming the entry (and its index) that is not an address or a block. */
  constructor(entries: readonly string[]) {
    this.#blocks = entries.map((entry, i) => {
      const cidr = parseCidr(entry);
      if (typeof cidr === "string") throw new Error(`trusted proxy [${i}]: ${cidr}`);
      return cidr;
    });
  }

  get size(): number {
    return this.#blocks.length;
  }

  /** True when `address` (text; IPv4-mapped IPv6 taken as IPv4) lies in one of the blocks; false for anything that is no address. */
  has(address: string): boolean {
    const bytes = parseIp(address);
    return bytes !== null && this.holds(bytes);
  }

  /** has() for an address already parsed (parseIp). */
  holds(bytes: Uint8Array): boolean {
    return this.#blocks.some((cidr) => contains(cidr, bytes));
  }
}
