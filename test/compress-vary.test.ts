// Vary (RFC 9110 §12.5.5) as compression and pre-compressed files add to it:
// a field named once, whatever its case, beside what the backend named.

import { expect, test } from "vitest";
import { addVary } from "../src/http/vary.ts";

test.each([
  [null, "Accept-Encoding"],
  ["", "Accept-Encoding"],
  ["Cookie", "Cookie, Accept-Encoding"],
  ["accept-encoding", "accept-encoding"],
  ["Cookie, Accept-Encoding", "Cookie, Accept-Encoding"],
  ["*", "*"],
])("Vary: %j becomes %j", (before, after) => {
  const headers = new Headers(before === null ? {} : { vary: before });
  addVary(headers, "Accept-Encoding");
  expect(headers.get("vary")).toBe(after);
});
