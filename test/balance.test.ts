// The balancing policies (src/backend/balance.ts) without a network: the
// order each gives, how evenly hashing spreads keys, and that a backend
// going away moves only its own keys.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { balancer, rendezvous } from "../src/backend/balance.ts";
import { hashKeyReader } from "../src/backend/hash-key.ts";

const NAMES = ["10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.3:9000", "unix:/run/php/fpm.sock"];

describe("least_conn", () => {
  test("fewest in flight first; ties in list order", () => {
    expect(balancer("least_conn", NAMES).order([3, 1, 1, 0])).toEqual([3, 1, 2, 0]);
  });
});

describe("round_robin", () => {
  test("each request starts one backend past the last one chosen", () => {
    const rr = balancer("round_robin", NAMES);
    const firsts: number[] = [];
    for (let i = 0; i < 8; i++) {
      const first = rr.order([0, 0, 0, 0])[0]!;
      firsts.push(first);
      rr.chose(first);
    }
    expect(firsts).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
  });

  test("a skipped backend (full) does not shift the turn of the others", () => {
    const rr = balancer("round_robin", NAMES);
    rr.chose(2); // 0 and 1 were full
    expect(rr.order([0, 0, 0, 0])).toEqual([3, 0, 1, 2]);
  });
});

describe("hash (rendezvous)", () => {
  test("the same key always gets the same order; without a key, the least busy goes first", () => {
    const hash = balancer("hash", NAMES);
    expect(hash.order([0, 0, 0, 0], "203.0.113.7")).toEqual(hash.order([9, 0, 5, 1], "203.0.113.7"));
    expect(hash.order([2, 0, 1, 3])).toEqual([1, 2, 0, 3]);
  });

  test("10,000 keys spread over 4 backends within 15% of an even share", () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[rendezvous(NAMES, `198.51.${i >> 8}.${i & 255}`)[0]!]!++;
    for (const count of counts) expect(Math.abs(count - 2_500)).toBeLessThan(375);
  });

  test("a backend removed moves only its own keys, each to the next of its own order", () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 0, max: NAMES.length - 1 }), (key, gone) => {
        const before = rendezvous(NAMES, key).map((i) => NAMES[i]);
        const rest = NAMES.filter((_, i) => i !== gone);
        const after = rendezvous(rest, key).map((i) => rest[i]);
        expect(after).toEqual(before.filter((name) => name !== NAMES[gone]));
      }),
    );
  });

  test("a backend added takes keys only for itself", () => {
    fc.assert(
      fc.property(fc.string(), (key) => {
        const grown = [...NAMES, "10.0.0.9:9000"];
        const first = grown[rendezvous(grown, key)[0]!];
        expect([NAMES[rendezvous(NAMES, key)[0]!], "10.0.0.9:9000"]).toContain(first);
      }),
    );
  });

  test("the order depends on the backends' addresses, not their place in the list", () => {
    fc.assert(
      fc.property(fc.string(), (key) => {
        const reversed = [...NAMES].reverse();
        expect(rendezvous(reversed, key).map((i) => reversed[i])).toEqual(rendezvous(NAMES, key).map((i) => NAMES[i]));
      }),
    );
  });
});

describe("hash_key", () => {
  const request = (headers: Record<string, string>) => new Request("http://x/", { headers });

  test("client_ip: the connection's address, IPv4-mapped IPv6 as IPv4", () => {
    const key = hashKeyReader("client_ip");
    expect(key(request({}), "::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(key(request({ "x-forwarded-for": "10.9.9.9" }), "192.0.2.1")).toBe("192.0.2.1");
  });

  test("header:NAME, case-insensitive; absent -> no key", () => {
    const key = hashKeyReader("header:X-Tenant");
    expect(key(request({ "x-tenant": "acme" }), "")).toBe("acme");
    expect(key(request({}), "192.0.2.1")).toBeUndefined();
  });

  test("cookie:NAME, the first of that name; absent -> no key", () => {
    const key = hashKeyReader("cookie:sid");
    expect(key(request({ cookie: "a=1; sid=abc; sid=def" }), "")).toBe("abc");
    expect(key(request({ cookie: "xsid=1" }), "")).toBeUndefined();
  });
});
