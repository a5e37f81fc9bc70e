// vhost_root and hostile Hosts: what a Host may put into a document root's
// path is an RFC 1035 name (≤ 253 characters, labels ≤ 63) that is no IPv4
// literal, so that a client can neither make a path of any length per request
// (each kept in the lookup cache) nor reach a directory named after an address.

import { describe, expect, test } from "vitest";
import { vhostPath } from "../gateways/vhost-root.ts";

describe("vhost_root with a hostile Host", () => {
  test("a name longer than DNS allows gets the route's root", () => {
    const long = `${"a".repeat(60)}.`.repeat(5) + "example.org";
    expect(long.length).toBeGreaterThan(253);
    expect(vhostPath("/srv/%_", long)).toBeUndefined();
  });

  test("a label longer than 63 characters gets the route's root", () => {
    expect(vhostPath("/srv/%_", `${"a".repeat(64)}.example.org`)).toBeUndefined();
  });

  test("the longest names DNS allows still get their directory", () => {
    const label = "a".repeat(63);
    expect(vhostPath("/srv/%3", `${label}.example.org`)).toBe(`/srv/${label}`);
  });

  test.each(["127.0.0.1", "10.0.0.1", "192.168.1.20"])("the IPv4 literal %s gets the route's root", (host) => {
    expect(vhostPath("/srv/%0/htdocs", host)).toBeUndefined();
    expect(vhostPath("/srv/%_", host)).toBeUndefined();
  });
});
