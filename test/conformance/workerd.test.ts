// The conformance suite against workerd: the suite's routes in a Worker
// (workerd/worker.ts) run by `wrangler dev` (wrangler and workerd from npm);
// static files from the Workers assets binding, FastCGI to the real php-fpm
// through cloudflare:sockets, the probe module bundled.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processRssBytes, processTree } from "../../bench/cpu.ts";
import { freePort } from "../helpers/ports.ts";
import { stopProcessGroup, waitForPort } from "../helpers/server-process.ts";
import { conformance, PUBLIC, ROOT, type Target } from "./suite.ts";

const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

const workerd: Target = {
  name: "workerd",
  capabilities: { spawn: false, clientAddress: false, ownServer: false, threads: false, files: false, probeModule: "probe.wasm" },
  async start(routes) {
    const dir = mkdtempSync(join(tmpdir(), "postern-conformance-workerd-"));
    const port = await freePort();
    const config = join(dir, "wrangler.toml");
    writeFileSync(
      config,
      [
        'name = "postern-conformance"',
        `main = ${JSON.stringify(join(import.meta.dirname, "workerd/worker.ts"))}`,
        'compatibility_date = "2026-04-01"',
        "[assets]",
        `directory = ${JSON.stringify(PUBLIC)}`,
        "[vars]",
        `POSTERN_TOML = ${JSON.stringify(routes)}`,
        "[alias]",
        `postern = ${JSON.stringify(join(ROOT, "runtimes/workers/index.ts"))}`,
        "",
      ].join("\n"),
    );
    const proc = spawn(WRANGLER, ["dev", "--config", config, "--ip", "127.0.0.1", "--port", String(port), "--log-level", "warn"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    });
    let log = "";
    proc.stdout!.on("data", (d) => (log += d));
    proc.stderr!.on("data", (d) => (log += d));
    try {
      await waitForPort(proc, port, "wrangler dev", () => log, 60_000);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    let workerd: number | undefined;
    return {
      url: `http://127.0.0.1:${port}`,
      // The workerd process wrangler started: it runs the Worker.
      rss() {
        // Found once: the server is the same process for the whole run.
        workerd ??= processTree(proc.pid!).find((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd");
        if (workerd === undefined) throw new Error("no workerd process under wrangler");
        return processRssBytes(workerd);
      },
      async stop() {
        await stopProcessGroup(proc, "SIGTERM");
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

conformance(workerd);
