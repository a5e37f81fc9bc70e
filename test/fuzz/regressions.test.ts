// Inputs the fuzzing found a decoder mishandling, each kept as a plain test.

import { describe, expect, test } from "vitest";
import { NphResponseParser } from "../../gateways/script/nph.ts";
import { GatewayError } from "../../src/errors.ts";

const bytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

function malformed(run: () => unknown): void {
  let thrown: unknown;
  try {
    run();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(GatewayError);
  expect((thrown as GatewayError).code).toBe("BACKEND_MALFORMED");
}

describe("NPH status line", () => {
  // String.fromCharCode(...bytes) over a whole chunk ran out of stack (RangeError) on a long first line.
  test("a 300,000-byte first line in one chunk -> BACKEND_MALFORMED", () => {
    const parser = new NphResponseParser({ maxHeaderBytes: 65536 });
    malformed(() => parser.push(bytes(`${"A".repeat(300_000)}\r\nStatus\r\n`)));
  });
});
