// A conformance target that is postern's CLI run by a runtime's binary
// (node, deno, bun): the suite's routes are written to a postern.toml, the
// command serves it on a free port, and the process group is stopped after.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processRssBytes } from "../../bench/cpu.ts";
import { freePort } from "../helpers/ports.ts";
import { stopProcessGroup, waitForPort } from "../helpers/server-process.ts";
import type { Capabilities, Target } from "./suite.ts";

export function processTarget(name: string, capabilities: Capabilities, command: (config: string) => string[]): Target {
  return {
    name,
    capabilities,
    async start(routes, backends) {
      const dir = mkdtempSync(join(tmpdir(), `postern-conformance-${name}-`));
      const port = await freePort();
      const config = join(dir, "postern.toml");
      writeFileSync(config, `listen = ["127.0.0.1:${port}"]\naccess_log = false\n${routes}`);
      const [file, ...args] = command(config);
      const proc = spawn(file!, args, { stdio: ["ignore", "ignore", "pipe"], detached: true, env: { ...process.env, TMPDIR: backends.tmpDir } });
      let log = "";
      proc.stderr!.on("data", (d) => (log += d));
      try {
        await waitForPort(proc, port, `postern on ${name}`, () => log);
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
    },
  };
}
