// The pure parts of trusted proxies: the CIDR matcher, the Forwarded and
// X-Forwarded-* parsers, and the walk that finds the client in a chain.

import fc from "fast-check";
import { describe, expect, it, test } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import type { ConnInfo } from "../src/cgi/conn.ts";
import { AddressSet, formatIp, parseCidr, parseIp } from "../src/http/cidr.ts";
import { parseForwarded, parseForwardedFor } from "../src/http/forwarded.ts";
import { REAL_IP_HEADERS, realClient, type RealIpHeader } from "../src/http/real-client.ts";
import { configError } from "./helpers/config-error.ts";

describe("parseIp", () => {
  test.each(["127.0.0.1", "0.0.0.0", "255.255.255.255", "::", "::1", "2001:db8::1", "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "::ffff:10.1.2.3", "1::", "1:2:3:4:5:6:1.2.3.4"])("%s is an address", (text) => {
    expect(parseIp(text)).not.toBeNull();
  });
  test.each(["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-1", "1::2::3", ":1", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "fe80::1%eth0", "12345::", "g::1", "unknown", "[::1]", "1.2.3.4 "])("%j is not", (text) => {
    expect(parseIp(text)).toBeNull();
  });
  it("an IPv4-mapped IPv6 address is its IPv4 address", () => {
    expect(parseIp("::ffff:10.1.2.3")).toEqual(parseIp("10.1.2.3"));
    expect(parseIp("::FFFF:a01:203")).toEqual(parseIp("10.1.2.3"));
  });
});

describe("formatIp", () => {
  test.each([
    ["::", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:0:0:2:0:0:3:4", "1::2:0:0:3:4"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["::FFFF:a00:1", "10.0.0.1"],
  ])("%s -> %s", (text, form) => expect(formatIp(parseIp(text)!)).toBe(form));

  it("names the address it was given, as the URL standard writes IPv6 (property)", () => {
    // Zero hextets often, so that runs of them are.
    const hextet = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(hextet, { minLength: 8, maxLength: 8 }), (hextets) => {
        const bytes = Uint8Array.from(hextets.flatMap((h) => [h >> 8, h & 0xff]));
        const text = formatIp(bytes);
        expect(parseIp(text)).toEqual(bytes);
        if (text.includes(":")) expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      }),
    );
  });
});

describe("AddressSet", () => {
  const set = new AddressSet(["10.0.0.0/8", "127.0.0.1", "::1/128", "2001:db8::/32", "192.168.1.128/25"]);
  test.each([
    ["10.0.0.1", true],
    ["10.255.255.255", true],
    ["11.0.0.0", false],
    ["::ffff:10.9.9.9", true],
    ["127.0.0.1", true],
    ["127.0.0.2", false],
    ["::1", true],
    ["::2", false],
    ["2001:db8:ffff::1", true],
    ["2001:db9::1", false],
    ["192.168.1.200", true],
    ["192.168.1.127", false],
    ["", false],
    ["unknown", false],
  ])("%s -> %s", (address, inside) => expect(set.has(address)).toBe(inside));

  it("an empty list trusts nobody, 0.0.0.0/0 every IPv4 peer", () => {
    expect(new AddressSet([]).has("127.0.0.1")).toBe(false);
    expect(new AddressSet(["0.0.0.0/0"]).has("203.0.113.9")).toBe(true);
    expect(new AddressSet(["0.0.0.0/0"]).has("2001:db8::1")).toBe(false);
  });

  it("a peer named with a zone (a link-local one, as Node names it) is never trusted: which link is not in the list", () => {
    expect(new AddressSet(["fe80::/10"]).has("fe80::1%eth0")).toBe(false);
  });

  it("::/0 holds every IPv6 peer and no IPv4 one, however the socket spells it", () => {
    const ipv6 = new AddressSet(["::/0"]);
    expect(ipv6.has("2001:db8::1")).toBe(true);
    expect(ipv6.has("203.0.113.9")).toBe(false);
    expect(ipv6.has("::ffff:203.0.113.9")).toBe(false);
    expect(new AddressSet(["::/64"]).has("203.0.113.9")).toBe(false);
    expect(new AddressSet(["::ffff:0.0.0.0/96"]).has("203.0.113.9")).toBe(true);
  });

  it("a block holds exactly the addresses that share its prefix (property)", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.ipV4(), (base, bits, other) => {
        const num = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        const network = (num(base) & mask) >>> 0;
        const text = [24, 16, 8, 0].map((s) => (network >>> s) & 255).join(".");
        const set = new AddressSet([`${text}/${bits}`]);
        expect(set.has(other)).toBe(((num(other) & mask) >>> 0) === network);
        expect(set.has(`::ffff:${other}`)).toBe(set.has(other));
      }),
    );
  });

  it("an entry that is no address names itself and its index", () => {
    expect(() => new AddressSet(["10.0.0.0/8", "10.0.0.0/33"])).toThrow(/\[1\].*0 to 32/);
  });
});

describe("parseCidr", () => {
  test.each([
    ["10.0.0.1/8", /bits set past its prefix; the block is "10.0.0.0\/8"/],
    ["10.0.0.0/", /prefix length/],
    ["::1/129", /0 to 128/],
    ["localhost", /expected an IP address or a CIDR block/],
    ["10.0.0.0/8/8", /prefix length/],
  ])("%s is refused", (text, message) => {
    const cidr = parseCidr(text);
    expect(typeof cidr).toBe("string");
    expect(cidr).toMatch(message);
  });
});

describe("parseForwarded (RFC 7239)", () => {
  test.each<[string, object[] | null]>([
    ["for=192.0.2.43", [{ address: "192.0.2.43" }]],
    ['for="[2001:db8:cafe::17]:4711"', [{ address: "2001:db8:cafe::17", port: 4711 }]],
    ["for=192.0.2.60;proto=http;by=203.0.113.43", [{ address: "192.0.2.60", proto: "http" }]],
    ["for=192.0.2.43, for=198.51.100.17", [{ address: "192.0.2.43" }, { address: "198.51.100.17" }]],
    ["For=192.0.2.43 ; Proto=HTTPS", [{ address: "192.0.2.43", proto: "https" }]],
    ['for="_gazonk"', [{}]],
    ["for=unknown;proto=https", [{ proto: "https" }]],
    ['for="192.0.2.43:_hidden"', [{ address: "192.0.2.43" }]],
    ['for="\\"quoted\\""', [{}]],
    ["proto=https", [{ proto: "https" }]],
    ['for=192.0.2.43;host="example.com:8080"', [{ address: "192.0.2.43" }]],
    ["for=192.0.2.43:8080", [{ address: "192.0.2.43", port: 8080 }]],
    [",, for=192.0.2.43,", [{ address: "192.0.2.43" }]],
    ["", []],
    ['for="192.0.2.43', null],
    ["for=192.0.2.43;for=10.0.0.1", null],
    ["for", null],
    ["for=", null],
    ["for=a b", null],
    ["for=<script>", null],
    ["=x", null],
  ])("%j", (value, hops) => expect(parseForwarded(value)).toEqual(hops));

  it("never throws, whatever it is given (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."for=proto;,\"\\[]:_ 1.2.3.4abc\t") }), (value) => {
        const hops = parseForwarded(value);
        expect(hops === null || Array.isArray(hops)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads back what a proxy wrote (property)", () => {
    const hop = fc.record({ address: fc.oneof(fc.ipV4(), fc.ipV6()), proto: fc.constantFrom("http" as const, "https" as const) });
    fc.assert(
      fc.property(fc.array(hop, { minLength: 1, maxLength: 5 }), (hops) => {
        const value = hops.map((h) => `for="${h.address.includes(":") ? `[${h.address}]` : h.address}";proto=${h.proto}`).join(", ");
        expect(parseForwarded(value)).toEqual(hops);
      }),
    );
  });
});

describe("parseForwardedFor", () => {
  it("reads IPv4, bare and bracketed IPv6, ports, and keeps a hop for what is no address", () => {
    expect(parseForwardedFor(" 203.0.113.7 , 2001:db8::1,[2001:db8::2]:4711, 198.51.100.1:80, unknown,,")).toEqual([
      { address: "203.0.113.7" },
      { address: "2001:db8::1" },
      { address: "2001:db8::2", port: 4711 },
      { address: "198.51.100.1", port: 80 },
      {},
    ]);
  });
});

describe("realClient", () => {
  const PEER: ConnInfo = { remoteAddress: "127.0.0.1", remotePort: 50000, localAddress: "127.0.0.1", localPort: 8080, tls: false, httpVersion: "1.1" };
  const trusted = new AddressSet(["127.0.0.1", "10.0.0.0/8"]);
  const client = (fields: Record<string, string>, peer = PEER, header: RealIpHeader = "X-Forwarded-For") => realClient(peer, new Headers(fields), trusted, header);

  it("an untrusted peer's fields change nothing", () => {
    const peer = { ...PEER, remoteAddress: "203.0.113.9" };
    expect(client({ "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "https" }, peer)).toBe(peer);
    expect(client({ forwarded: "for=1.2.3.4;proto=https" }, peer, "Forwarded")).toBe(peer);
  });

  it("a trusted peer without the fields is the client", () => {
    expect(client({})).toBe(PEER);
  });

  test.each<[string, Record<string, string>, Partial<ConnInfo>]>([
    ["one hop", { "x-forwarded-for": "203.0.113.7" }, { remoteAddress: "203.0.113.7", remotePort: 0, tls: false, localPort: 8080 }],
    ["a spoofed leftmost item loses", { "x-forwarded-for": "6.6.6.6, 203.0.113.7" }, { remoteAddress: "203.0.113.7" }],
    ["trusted hops are skipped from the right", { "x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.1.1.1, 10.2.2.2" }, { remoteAddress: "203.0.113.7" }],
    ["every hop trusted: the leftmost", { "x-forwarded-for": "10.3.3.3, 10.1.1.1" }, { remoteAddress: "10.3.3.3" }],
    ["an unknown hop: the nearest known address", { "x-forwarded-for": "6.6.6.6, unknown, 10.1.1.1" }, { remoteAddress: "10.1.1.1" }],
    ["a malformed rightmost item: the peer", { "x-forwarded-for": "not-an-ip" }, { remoteAddress: "127.0.0.1", remotePort: 50000 }],
    ["the port of an item", { "x-forwarded-for": "[2001:db8::7]:4711" }, { remoteAddress: "2001:db8::7", remotePort: 4711 }],
    ["an IPv6 item in lower case", { "x-forwarded-for": "2001:DB8::A" }, { remoteAddress: "2001:db8::a" }],
    ["an IPv4-mapped item as IPv4", { "x-forwarded-for": "::ffff:203.0.113.7" }, { remoteAddress: "203.0.113.7" }],
    ["an IPv4-mapped item in hex as IPv4", { "x-forwarded-for": "0:0:0:0:0:FFFF:cb00:7107" }, { remoteAddress: "203.0.113.7" }],
    ["an IPv6 item in its RFC 5952 form", { "x-forwarded-for": "2001:0DB8:0:0:0:0:0:000A" }, { remoteAddress: "2001:db8::a" }],
    ["X-Forwarded-Proto: https alone", { "x-forwarded-proto": "https" }, { remoteAddress: "127.0.0.1", remotePort: 50000, tls: true, localPort: 443 }],
    ["X-Forwarded-Proto: http", { "x-forwarded-proto": "http" }, { tls: false, localPort: 80 }],
    ["X-Forwarded-Port", { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https", "x-forwarded-port": "8443" }, { tls: true, localPort: 8443 }],
    ["a scheme per hop: the client's", { "x-forwarded-for": "203.0.113.7, 10.1.1.1", "x-forwarded-proto": "https, http" }, { remoteAddress: "203.0.113.7", tls: true }],
    ["schemes that do not line up: none", { "x-forwarded-for": "203.0.113.7, 10.1.1.1, 10.2.2.2", "x-forwarded-proto": "https, http" }, { tls: false, localPort: 8080 }],
    ["an empty X-Forwarded-For leaves the scheme", { "x-forwarded-for": "", "x-forwarded-proto": "https" }, { remoteAddress: "127.0.0.1", tls: true, localPort: 443 }],
    ["a scheme that is none: ignored", { "x-forwarded-proto": "gopher" }, { tls: false, localPort: 8080 }],
    ["a port that is none: ignored", { "x-forwarded-proto": "https", "x-forwarded-port": "99999" }, { tls: true, localPort: 443 }],
    ["Forwarded is not read, even with no X-Forwarded-For: a client's own passes the proxy untouched", { forwarded: "for=6.6.6.6;proto=https" }, { remoteAddress: "127.0.0.1", remotePort: 50000, tls: false, localPort: 8080 }],
    ["Forwarded beside X-Forwarded-For changes nothing", { forwarded: "for=6.6.6.6;proto=https", "x-forwarded-for": "203.0.113.7" }, { remoteAddress: "203.0.113.7", tls: false }],
  ])("%s", (_, fields, expected) => {
    expect(client(fields)).toMatchObject(expected);
  });

  test.each<[string, Record<string, string>, Partial<ConnInfo>]>([
    ["Forwarded", { forwarded: 'for="[2001:db8::7]:4711";proto=https' }, { remoteAddress: "2001:db8::7", remotePort: 4711, tls: true, localPort: 443 }],
    ["a Forwarded IPv6 node in its RFC 5952 form", { forwarded: 'for="[2001:db8:0:1:0:0:0:1]:4711"' }, { remoteAddress: "2001:db8:0:1::1", remotePort: 4711 }],
    ["Forwarded, spoofed leftmost", { forwarded: "for=6.6.6.6;proto=http, for=203.0.113.7;proto=https, for=10.1.1.1;proto=http" }, { remoteAddress: "203.0.113.7", tls: true }],
    ["Forwarded for=unknown keeps the peer, takes the scheme", { forwarded: "for=unknown;proto=https" }, { remoteAddress: "127.0.0.1", tls: true }],
    ["Forwarded obfuscated", { forwarded: 'for="_hidden", for=10.1.1.1' }, { remoteAddress: "10.1.1.1" }],
    ["Forwarded malformed: the peer", { forwarded: 'for="203.0.113.7' }, { remoteAddress: "127.0.0.1", tls: false }],
    ["X-Forwarded-* a client sent past a Forwarded-only proxy change nothing", { forwarded: "for=203.0.113.7", "x-forwarded-for": "6.6.6.6", "x-forwarded-proto": "https", "x-forwarded-port": "8443" }, { remoteAddress: "203.0.113.7", tls: false, localPort: 8080 }],
    ["X-Forwarded-* alone change nothing", { "x-forwarded-for": "6.6.6.6", "x-forwarded-proto": "https" }, { remoteAddress: "127.0.0.1", remotePort: 50000, tls: false, localPort: 8080 }],
  ])("real_ip_header Forwarded: %s", (_, fields, expected) => {
    expect(client(fields, PEER, "Forwarded")).toMatchObject(expected);
  });

  it("the client is never an address a client wrote left of an untrusted hop (property)", () => {
    const untrusted = fc.ipV4().filter((ip) => !trusted.has(ip));
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 3 }), untrusted, fc.array(fc.constantFrom("10.0.0.1", "10.9.9.9", "127.0.0.1"), { maxLength: 3 }), (spoof, real, proxies) => {
        const chain = [...spoof, real, ...proxies].join(", ");
        expect(client({ "x-forwarded-for": chain }).remoteAddress).toBe(real);
      }),
    );
  });

  it("never throws on any field values (property)", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (xff, proto, port, forwarded) => {
        const headers = new Headers();
        for (const [name, value] of [["x-forwarded-for", xff], ["x-forwarded-proto", proto], ["x-forwarded-port", port], ["forwarded", forwarded]] as const) {
          try {
            headers.set(name, value);
          } catch {
            // Not a value a Headers can hold: no client could send it either.
          }
        }
        for (const header of REAL_IP_HEADERS) expect(typeof realClient(PEER, headers, trusted, header).remoteAddress).toBe("string");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("postern.toml", () => {
  const routes = '\n[[routes]]\ngateway = "static"\nroot = "."\n';
  it("trusted_proxies: an entry that is no address names the key, index and line", () => {
    const error = configError(`listen = ["127.0.0.1:8080"]\ntrusted_proxies = ["10.0.0.0/8", "10.0.0.1/8"]${routes}`, gatewaySchemas);
    expect(error.message).toMatch(/^postern\.toml:2: trusted_proxies\[1\]: .*the block is "10\.0\.0\.0\/8"/);
  });
  it("trusted_proxies: a hostname is refused", () => {
    expect(configError(`trusted_proxies = "proxy.internal"${routes}`, gatewaySchemas).message).toMatch(/^postern\.toml:1: trusted_proxies: expected an IP address/);
  });
  it("real_ip_header: a value that is none names the key and line", () => {
    expect(configError(`trusted_proxies = ["10.0.0.0/8"]\nreal_ip_header = "X-Real-IP"${routes}`, gatewaySchemas).message).toMatch(/^postern\.toml:2: real_ip_header: expected one of "X-Forwarded-For", "Forwarded"/);
  });
  it("encoded_slashes: a value that is none names the key and line", () => {
    expect(configError(`\nencoded_slashes = "decoded"${routes}`, gatewaySchemas).message).toMatch(/^postern\.toml:2: encoded_slashes: expected one of "refuse", "decode", "keep".*did you mean "decode"/);
  });
});
