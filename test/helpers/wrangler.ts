// wrangler (this checkout's devDependency, with the workerd it runs) as the
// Worker tests use it: run by a Node it supports (it needs 22.12 or later,
// the tests themselves may run on an older one: node-versions.ts), with the
// compatibility date of the top-level wrangler.toml, and `wrangler dev`
// started on a free loopback port in a process group of its own. A Worker of
// this checkout imports postern's TypeScript sources, as the top-level
// wrangler.toml's alias has it; one in a project with postern installed
// imports the package.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeAtLeast } from "./node-versions.ts";
import { freePort } from "./ports.ts";
import { stopProcessGroup, waitForPort } from "./server-process.ts";

const ROOT = join(import.meta.dirname, "../..");
const WRANGLER_JS = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
/** No usage reports from the tests, and no interactive prompts. */
const ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" };

/** The Node that runs wrangler; undefined (tests skip, saying why) where none is installed outside CI. */
export const WRANGLER_NODE = nodeAtLeast(22);

/** The compatibility date every Worker under test is given: the example's, in the top-level wrangler.toml. */
export const COMPATIBILITY_DATE = /^compatibility_date = "([0-9-]+)"$/m.exec(readFileSync(join(ROOT, "wrangler.toml"), "utf8"))![1]!;

/** Writes `dir`/wrangler.toml for the Worker `main` of this checkout, with `tables` after its top-level keys ("[vars]\nX = ..."). */
export function writeCheckoutWorkerConfig(dir: string, name: string, main: string, tables: string[]): void {
  const lines = [`name = ${JSON.stringify(name)}`, `main = ${JSON.stringify(main)}`, `compatibility_date = "${COMPATIBILITY_DATE}"`, ...tables];
  lines.push("[alias]", `postern = ${JSON.stringify(join(ROOT, "runtimes/workers/index.ts"))}`, "");
  writeFileSync(join(dir, "wrangler.toml"), lines.join("\n"));
}

export interface WranglerDev {
  url: string;
  /** wrangler's process, the leader of the group that holds workerd. */
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** `wrangler dev ...args` in `cwd`, listening on 127.0.0.1; resolves once it accepts connections. */
export async function wranglerDev(cwd: string, args: string[] = []): Promise<WranglerDev> {
  const port = await freePort();
  const proc = spawn(wranglerNode(), [WRANGLER_JS, "dev", "--ip", "127.0.0.1", "--port", String(port), "--log-level", "warn", ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: ENV,
  });
  let log = "";
  proc.stdout!.on("data", (d) => (log += d));
  proc.stderr!.on("data", (d) => (log += d));
  // The first start bundles the Worker and starts workerd: slow on a loaded machine.
  await waitForPort(proc, port, "wrangler dev", () => log, 60_000);
  return { url: `http://127.0.0.1:${port}`, proc, stop: () => stopProcessGroup(proc, "SIGTERM") };
}

/**
 * The conformance suite's Worker (conformance/workerd/worker.ts) serving the
 * postern.toml `toml` under `wrangler dev`, from a temporary directory that
 * stop() removes.
 */
export async function devConformanceWorker(name: string, toml: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  writeCheckoutWorkerConfig(dir, name, join(ROOT, "test/conformance/workerd/worker.ts"), ["[vars]", `POSTERN_TOML = ${JSON.stringify(toml)}`]);
  const dev = await wranglerDev(dir).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    url: dev.url,
    stop: async () => {
      await dev.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `wrangler ...args` in `cwd`, run to its end; throws with its output if it fails. */
export function wrangler(cwd: string, args: string[]): void {
  execFileSync(wranglerNode(), [WRANGLER_JS, ...args], { cwd, env: ENV, stdio: "pipe", timeout: 120_000 });
}

function wranglerNode(): string {
  if (!WRANGLER_NODE) throw new Error("no Node >= 22 to run wrangler");
  return WRANGLER_NODE;
}
