// Fuzzes every decoder (test/fuzz/) with many more inputs than `npm test`
// does, and prints per decoder the inputs run, the time taken, the slowest
// single input (a hang shows there) and the failures, each with the seed and
// path that replay it.
//
//   npm run fuzz                     1,000,000 inputs per family
//   npm run fuzz -- 20000            another count
//   npm run fuzz -- 20000 --seed 7 fastcgi nph
//
// Exits 1 when a property failed.

import { families } from "../test/fuzz/families.ts";
import { runFamily } from "../test/fuzz/run.ts";

const args = process.argv.slice(2);
const seedAt = args.indexOf("--seed");
const seed = seedAt >= 0 ? Number(args.splice(seedAt, 2)[1]) : Date.now() % 2 ** 31;
const count = /^[0-9_]+$/.test(args[0] ?? "") ? Number(args.shift()!.replaceAll("_", "")) : 1_000_000;
const chosen = args.length === 0 ? families : families.filter((f) => args.includes(f.family));
if (chosen.length === 0 || !Number.isSafeInteger(count) || count < 1 || Number.isNaN(seed)) {
  console.error(`usage: npm run fuzz -- [count] [--seed N] [${families.map((f) => f.family).join(" | ")} ...]`);
  process.exit(2);
}

const versions = process.versions as Record<string, string | undefined>;
const runtime = versions.bun ? `bun ${versions.bun}` : versions.deno ? `deno ${versions.deno}` : `node ${process.version}`;
console.log(`fuzzing ${count.toLocaleString("en")} inputs per family, seed ${seed}, ${runtime}`);
let failures = 0;
let inputs = 0;
const started = performance.now();
for (const family of chosen) {
  console.log(`\n${family.family}`);
  for (const result of await runFamily(family, count, seed)) {
    inputs += result.runs;
    const rate = Math.round(result.runs / (result.ms / 1000));
    const line = `  ${result.name.padEnd(56)} ${result.runs.toLocaleString("en").padStart(9)} inputs ${(result.ms / 1000).toFixed(1).padStart(7)} s ${rate.toLocaleString("en").padStart(8)}/s  slowest ${result.slowestMs.toFixed(1).padStart(6)} ms`;
    console.log(`${line}  ${result.failure === undefined ? "0 failures" : "FAILED"}`);
    if (result.failure !== undefined) {
      failures++;
      console.log(result.failure.slice(0, 4000));
    }
  }
}
console.log(`\n${inputs.toLocaleString("en")} inputs in ${((performance.now() - started) / 1000).toFixed(1)} s, ${failures} failed ${failures === 1 ? "property" : "properties"}`);
process.exit(failures === 0 ? 0 : 1);
