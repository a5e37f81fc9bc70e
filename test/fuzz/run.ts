// Runs fuzz families: the shared body of `npm test`'s fuzz files and of `npm run fuzz`.

import fc from "fast-check";
import { type FuzzFamily, runsFor } from "./harness.ts";

export interface TargetResult {
  name: string;
  runs: number;
  ms: number;
  /** The longest any one input took: a decoder that hangs on some input shows here (or never returns). */
  slowestMs: number;
  failure?: string;
}

/** Runs each target of `family` on its share of `total` inputs from `seed`. */
export async function runFamily(family: FuzzFamily, total: number, seed: number): Promise<TargetResult[]> {
  const results: TargetResult[] = [];
  for (const target of family.targets) {
    let slowestMs = 0;
    const timed = fc.beforeEach(() => {
      const at = performance.now();
      return () => {
        slowestMs = Math.max(slowestMs, performance.now() - at);
      };
    });
    const started = performance.now();
    const details = await fc.check(target.property(), { numRuns: runsFor(target, total), seed, plugins: [timed] });
    const result: TargetResult = { name: target.name, runs: details.numRuns, ms: performance.now() - started, slowestMs };
    if (details.failed) result.failure = fc.defaultReportMessage(details) ?? "failed";
    results.push(result);
  }
  return results;
}
