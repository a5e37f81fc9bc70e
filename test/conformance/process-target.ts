// A conformance target that is postern's CLI run by a runtime's binary
// (node, each release postern supports; deno, bun): the suite's routes are
// written to a postern.toml, the command serves it on a free port, and the
// process group is stopped after.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processRssBytes } from "../../bench/cpu.ts";
import { nodeBinaries } from "../helpers/node-versions.ts";
import { freePort } from "../helpers/ports.ts";
import { POSTERN_CLI, type CliRuntime } from "../helpers/postern-cli.ts";
import { stopProcessGroup, waitForPort } from "../helpers/server-process.ts";
import type { Capabilities, RunningTarget, Target } from "./suite.ts";

export interface PosternCli {
  /** "node 22", "deno", "bun". */
  name: string;
  runtime: CliRuntime;
  /** The command before postern's subcommand. */
  command: string[];
}

/** postern's CLI on Node (each release postern supports: helpers/node-versions.ts), or on Deno and Bun too. */
export function posternClis(runtimes: CliRuntime[] = ["node", "deno", "bun"]): PosternCli[] {
  const [, ...postern] = POSTERN_CLI.node;
  return runtimes.flatMap((runtime): PosternCli[] =>
    runtime === "node" ? nodeBinaries().map((node) => ({ name: `node ${node.major}`, runtime, command: [node.path, ...postern] })) : [{ name: runtime, runtime, command: POSTERN_CLI[runtime] }],
  );
}

export function processTarget(cli: PosternCli, capabilities: Capabilities): Target {
  return { name: cli.name, capabilities, start: (routes, backends) => serveRoutes(cli, routes, backends.tmpDir) };
}

/** `postern serve` by `cli` of a postern.toml with `routes` on a free loopback port, its TMPDIR `tmpDir`; resolves once it listens. */
export async function serveRoutes(cli: PosternCli, routes: string, tmpDir: string): Promise<RunningTarget> {
  const dir = mkdtempSync(join(tmpdir(), `postern-conformance-${cli.runtime}-`));
  const port = await freePort();
  const config = join(dir, "postern.toml");
  writeFileSync(config, `listen = ["127.0.0.1:${port}"]\naccess_log = false\n${routes}`);
  const [file, ...args] = [...cli.command, "serve", "--config", config];
  const proc = spawn(file!, args, { stdio: ["ignore", "ignore", "pipe"], detached: true, env: { ...process.env, TMPDIR: tmpDir } });
  let log = "";
  proc.stderr!.on("data", (d) => (log += d));
  try {
    await waitForPort(proc, port, `postern on ${cli.name}`, () => log, 30_000);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    rss: () => processRssBytes(proc.pid!),
    async stop() {
      await stopProcessGroup(proc, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
