// The processes a benchmark starts: a stop list run at the end, on an error
// and on SIGINT/SIGTERM, so no server outlives the run; and postern itself
// started as users start it, with the CLI (`postern serve --config FILE`,
// DESIGN.md "CLI") in a process of its own.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../test/helpers/ports.ts";
import { stopProcessGroup, waitForPort } from "../test/helpers/server-process.ts";

/** Stops, newest first; each runs once even if `run` is called twice (an error during a signal). */
export class Cleanup {
  #stops: { name: string; stop: () => Promise<void> }[] = [];
  #running: Promise<void> | undefined;

  add(name: string, stop: () => Promise<void>): void {
    this.#stops.push({ name, stop });
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      while (this.#stops.length > 0) {
        const { name, stop } = this.#stops.pop()!;
        try {
          await stop();
        } catch (err) {
          process.stderr.write(`bench: stopping ${name}: ${(err as Error).message}\n`);
        }
      }
    })();
    return this.#running;
  }
}

export interface PosternProcess {
  url: string;
  pid: number;
  /** The config file text, for the JSON results. */
  config: string;
  /** What postern wrote to stderr so far. */
  errorLog(): string;
}

const BIN = fileURLToPath(new URL("../bin/postern.js", import.meta.url));

/**
 * Writes a postern.toml (`listen` on a free loopback port, `https://` with
 * the `[tls]` table `https.tls`, no access log, then `routes`) and runs `node bin/postern.js serve --config` (or `command`, the
 * CLI on another runtime, followed by `serve --config`) in its own process
 * group; resolves once the port accepts.
 */
export async function startPosternProcess(
  routes: string,
  cleanup: Cleanup,
  name: string,
  command: string[] = [process.execPath, BIN],
  https?: { tls: string },
): Promise<PosternProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "postern-bench-"));
  const scheme = https ? "https" : "http";
  const listen = https ? `https://127.0.0.1:${port}` : `127.0.0.1:${port}`;
  const config = `listen = ["${listen}"]\naccess_log = false\n${https ? `\n${https.tls}\n` : ""}\n${routes}`;
  const file = join(dir, "postern.toml");
  writeFileSync(file, config);
  const [program, ...args] = command;
  const proc: ChildProcess = spawn(program!, [...args, "serve", "--config", file], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true, // own process group: a terminal's ^C reaches the bench, which stops it in order
  });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += d));
  cleanup.add(name, async () => {
    // SIGTERM: postern finishes requests in flight and exits 0 (DESIGN.md "CLI").
    await stopProcessGroup(proc, "SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });
  await waitForPort(proc, port, name, () => stderr);
  return { url: `${scheme}://127.0.0.1:${port}`, pid: proc.pid!, config, errorLog: () => stderr };
}
