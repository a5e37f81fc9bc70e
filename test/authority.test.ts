// A Host's IP literal (RFC 3986 §3.2.2) and its Punycode labels: what isAuthority lets through to the URL a request is built with.

import { describe, expect, test } from "vitest";
import { isAuthority } from "../src/http/authority.ts";

describe("Host with an IP literal", () => {
  test.each(["[::1]", "[::]", "[1:2:3:4:5:6:7:8]:443", "[::ffff:10.0.0.1]:80", "[1::]", "[fe80::1:2]", "[1:2:3:4:5:6:1.2.3.4]", "10.0.0.1:8080"])("%s is a Host", (host) => {
    expect(isAuthority(host)).toBe(true);
  });

  test.each([
    "[]",
    "[::1",
    "[::1]x",
    "[::1]:65536",
    "[1:2:3:4:5:6:7:8:9]",
    "[1::2::3]",
    "[:::]",
    "[1:2:3:4:5:6:7]",
    "[1:2:3:4:5:6:7::8]",
    "[12345::]",
    "[::1.2.3.256]",
    "[::01.2.3.4]",
    "[1.2.3.4::]",
    "[1.2.3.4]",
    "[fe80::1%25eth0]",
    "[v1.x]",
  ])("%s is refused", (host) => {
    expect(isAuthority(host)).toBe(false);
  });
});

// Refused by postern itself, as Deno's and Bun's URL parsers refuse them: Node 20 to 26 take "xn--ab-", 24 and 26 "xn--" too.
describe("Host with an xn-- label that decodes to nothing or to ASCII (UTS #46 §4)", () => {
  test.each(["xn--", "XN--", "a.xn--", "xn--.example", "xn--ab-", "xn--a-b-.example:80"])("%s is refused", (host) => {
    expect(isAuthority(host)).toBe(false);
  });

  test.each(["xn--bcher-kva.example", "xn--nxasmq6b.com:443", "xn-a.example", "axn--.example"])("%s is a Host", (host) => {
    expect(isAuthority(host)).toBe(true);
  });
});
