// Runs fuzz families: the shared body of `npm test`'s fuzz files and of `npm run fuzz`.

import fc from "fast-check";
import { type FuzzFamily, runsFor } from "./harness.ts";

export interface TargetResult {
  name: string;
  runs: number;
  ms: number;
  failure?: string;
}

/** Runs each target of `family` on its share of `total` inputs from `seed`. */
export function runFamily(family: FuzzFamily, total: number, seed: number): TargetResult[] {
  return family.targets.map((target) => {
    const started = performance.now();
    const details = fc.check(target.property(), { numRuns: runsFor(target, total), seed });
    const ms = performance.now() - started;
    const result: TargetResult = { name: target.name, runs: details.numRuns, ms };
    if (details.failed) result.failure = fc.defaultReportMessage(details) ?? "failed";
    return result;
  });
}
