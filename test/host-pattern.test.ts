// src/http/host-pattern.ts: the names a route's or a certificate's `host` answers for.

import { expect, test } from "vitest";
import { hostMatcher, hostName, hostPatternProblem } from "../src/http/host-pattern.ts";

test("an exact name matches itself in any letter case and with a trailing dot, nothing else", () => {
  const matches = hostMatcher(["Example.com"]);
  expect(matches(hostName("example.com"))).toBe(true);
  expect(matches(hostName("EXAMPLE.COM:8443"))).toBe(true);
  expect(matches(hostName("example.com."))).toBe(true);
  expect(matches(hostName("www.example.com"))).toBe(false);
  expect(matches(hostName("example.com.evil"))).toBe(false);
});

test("*.example.org matches every name under it, at any depth, but not example.org", () => {
  const matches = hostMatcher(["*.example.org"]);
  expect(matches("www.example.org")).toBe(true);
  expect(matches("a.b.example.org")).toBe(true);
  expect(matches("example.org")).toBe(false);
  expect(matches("badexample.org")).toBe(false);
});

test("an IPv6 literal keeps its brackets and loses its port", () => {
  expect(hostName("[::1]:8080")).toBe("[::1]");
  expect(hostName("127.0.0.1:80")).toBe("127.0.0.1");
});

test("patterns that name no host are refused, saying why", () => {
  expect(hostPatternProblem("example.com")).toBeUndefined();
  expect(hostPatternProblem("*.example.com")).toBeUndefined();
  expect(hostPatternProblem("www.*.com")).toMatch(/first label/);
  expect(hostPatternProblem("example.com:80")).toMatch(/no port/);
  expect(hostPatternProblem("")).toMatch(/not a host name/);
});
