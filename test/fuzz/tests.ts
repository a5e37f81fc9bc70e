// One vitest test per fuzz target, on its share of the family's TEST_RUNS inputs from TEST_SEED.

import fc from "fast-check";
import { test } from "vitest";
import { type FuzzFamily, runsFor, TEST_RUNS, TEST_SEED } from "./harness.ts";

export function fuzzTests(family: FuzzFamily): void {
  test.each(family.targets)("$name", async (target) => {
    await fc.assert(target.property(), { numRuns: runsFor(target, TEST_RUNS), seed: TEST_SEED });
  });
}
