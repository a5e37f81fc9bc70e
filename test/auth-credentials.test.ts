// Basic credentials read from an Authorization field (RFC 7617 §2), over
// arbitrary input: never a throw (so never a 500), and every user and
// password a client can send read back as sent.

import fc from "fast-check";
import { expect, test } from "vitest";
import { basicCredentials } from "../gateways/route/auth/basic.ts";

const CONTROL = /[\x00-\x1f\x7f]/;

test("any field: credentials without control characters, or none; never a throw", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string().map((s) => "Basic " + s), fc.uint8Array().map((b) => "Basic " + Buffer.from(b).toString("base64"))), (field) => {
      const credentials = basicCredentials(field);
      if (credentials !== undefined) expect(CONTROL.test(credentials.user + credentials.password)).toBe(false);
    }),
    { numRuns: 2000 },
  );
});

test("a user without ':' and a password, in UTF-8, come back as sent, whatever the scheme's case and spaces", () => {
  const text = fc.string({ unit: "grapheme" }).filter((s) => !CONTROL.test(s));
  fc.assert(
    fc.property(text.filter((s) => !s.includes(":")), text, fc.constantFrom("Basic", "basic", "BASIC"), fc.integer({ min: 1, max: 3 }), (user, password, scheme, spaces) => {
      const field = `${scheme}${" ".repeat(spaces)}${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
      expect(basicCredentials(field)).toEqual({ user, password });
    }),
    { numRuns: 1000 },
  );
});
