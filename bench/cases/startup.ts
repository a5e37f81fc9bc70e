// Case `startup`: how fast the installed package starts. `postern --version`
// (the launcher, then dist/bin/postern.js and what it imports) and a bare
// `import "postern"` are timed from a project with the packed tarball
// installed (test/helpers/packed.ts), on the machine's Node and the other
// Node releases installed for the tests, and on Bun and Deno, next to each
// runtime's own empty start. Wall time, CPU time (user + system) and maximum
// RSS per run, from GNU time(1); runs interleaved, medians reported.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { CommandCase } from "../case.ts";
import { median } from "../report.ts";
import { nodeBinaries } from "../../test/helpers/node-versions.ts";
import { packedProject } from "../../test/helpers/packed.ts";

const ROOT = join(import.meta.dirname, "../..");
/** Measured runs of each command (BENCH_STARTUP_RUNS), after WARMUP unmeasured ones (page cache, Node's compile cache). */
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 20);
const WARMUP = 2;
/** The goal for `postern --version` on Node, in ms of wall time. */
const GOAL_MS = 150;

interface Command {
  runtime: string;
  what: string;
  argv: string[];
  env?: Record<string, string>;
  /** What its stdout must be, when it must say something. */
  expect?: RegExp;
}

interface Row {
  runtime: string;
  what: string;
  wallMs: { median: number; min: number };
  cpuMs: number;
  rssMb: number;
}

export const benchCase: CommandCase = {
  name: "startup",
  description:
    "postern --version and import \"postern\" from the packed package installed in a fresh project, on each Node installed for the tests, " +
    `Bun and Deno, beside each runtime's empty start: median wall ms, CPU ms and max RSS of ${RUNS} interleaved runs (goal: --version <= ${GOAL_MS} ms on Node).`,
  requires: [{ names: ["time"], apt: "time", versionArgs: ["--version"] }],
  async measure(cleanup, binaries) {
    console.log("packing the checkout and installing the tarball (npm pack, npm install)...");
    const project = await packedProject();
    cleanup.add("the packed project", () => project.cleanup());
    const bin = join(project.dir, "node_modules/postern/bin/postern.js");
    const version = /^postern \d+\.\d+\.\d+/;
    const library = "import('postern')";

    const commands: Command[] = [];
    for (const node of nodeBinaries()) {
      const runtime = `node ${node.major}`;
      commands.push({ runtime, what: "empty start (node -e 0)", argv: [node.path, "-e", "0"] });
      commands.push({ runtime, what: "postern --version", argv: [node.path, bin, "--version"], expect: version });
      // module.enableCompileCache() exists from Node 22.1: the same run without it shows what it saves.
      if (node.major >= 22) {
        commands.push({ runtime, what: "postern --version, no compile cache", argv: [node.path, bin, "--version"], env: { NODE_DISABLE_COMPILE_CACHE: "1" }, expect: version });
      }
      commands.push({ runtime, what: `${library} (library)`, argv: [node.path, "--input-type=module", "-e", `await ${library}`] });
    }
    const bun = join(ROOT, "node_modules/.bin/bun");
    commands.push({ runtime: "bun", what: "empty start (bun -e 0)", argv: [bun, "-e", "0"] });
    commands.push({ runtime: "bun", what: "postern --version", argv: [bun, bin, "--version"], expect: version });
    const deno = join(ROOT, "node_modules/.bin/deno");
    commands.push({ runtime: "deno", what: "empty start (deno eval 0)", argv: [deno, "eval", "0"] });
    commands.push({ runtime: "deno", what: "postern --version", argv: [deno, "run", "-A", bin, "--version"], expect: version });

    const samples = commands.map(() => [] as { wallMs: number; cpuMs: number; rssKb: number }[]);
    const scratch = mkdtempSync(join(tmpdir(), "postern-startup-"));
    cleanup.add("the timing files", async () => rmSync(scratch, { recursive: true, force: true }));
    for (let round = 0; round < WARMUP + RUNS; round++) {
      commands.forEach((command, i) => {
        const sample = timed(binaries.get("time")!, command, project.dir, join(scratch, "time"));
        if (round >= WARMUP) samples[i]!.push(sample);
      });
    }

    const rows: Row[] = commands.map((command, i) => {
      const runs = samples[i]!;
      const wall = runs.map((r) => r.wallMs);
      return {
        runtime: command.runtime,
        what: command.what,
        wallMs: { median: median(wall), min: Math.min(...wall) },
        cpuMs: median(runs.map((r) => r.cpuMs)),
        rssMb: median(runs.map((r) => r.rssKb)) / 1024,
      };
    });
    const imports = staticImports(join(project.dir, "node_modules/postern/dist/bin/postern.js"));
    console.log(`\n${format(rows)}`);
    const packages = imports.packages.length > 0 ? imports.packages.join(", ") : "no packages";
    console.log(`\ndist/bin/postern.js statically imports ${imports.modules} of postern's modules and ${packages} before it reads its arguments.`);
    return { runs: RUNS, rows, imports };
  },
};

/** One run of `command` under time(1): its wall time, CPU time and maximum RSS. */
function timed(time: string, command: Command, cwd: string, report: string): { wallMs: number; cpuMs: number; rssKb: number } {
  const started = performance.now();
  const run = spawnSync(time, ["-f", "%U %S %M", "-o", report, ...command.argv], { cwd, env: { ...process.env, ...command.env }, encoding: "utf8" });
  const wallMs = performance.now() - started;
  if (run.status !== 0 || (command.expect && !command.expect.test(run.stdout))) {
    throw new Error(`${command.argv.join(" ")}: exit ${run.status ?? run.signal}: ${run.stdout}${run.stderr}`);
  }
  const [user, system, rss] = readFileSync(report, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number);
  return { wallMs, cpuMs: (user! + system!) * 1000, rssKb: rss! };
}

/** The modules a file loads through static imports, transitively: how many of postern's own (relative, the file aside), and the packages named. */
function staticImports(entry: string): { modules: number; packages: string[] } {
  const seen = new Set<string>([entry]);
  const packages = new Set<string>();
  for (const file of seen) {
    const source = readFileSync(file, "utf8");
    for (const match of source.matchAll(/^(?:import|export)\s[^;]*?\bfrom\s+"([^"]+)"|^import\s+"([^"]+)"/gm)) {
      const specifier = (match[1] ?? match[2])!;
      if (specifier.startsWith(".")) seen.add(resolve(dirname(file), specifier));
      else if (!specifier.startsWith("node:")) packages.add(specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/"));
    }
  }
  return { modules: seen.size - 1, packages: [...packages].sort() };
}

function format(rows: Row[]): string {
  const header = ["runtime", "command", "wall ms (median)", "wall ms (min)", "CPU ms", "max RSS MB"];
  const lines = rows.map((r) => [r.runtime, r.what, r.wallMs.median.toFixed(0), r.wallMs.min.toFixed(0), r.cpuMs.toFixed(0), r.rssMb.toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}
