// The conformance suite against workerd: the suite's routes in a Worker
// (workerd/worker.ts) run by `wrangler dev` (wrangler and workerd from npm);
// static files from the Workers assets binding, FastCGI to the real php-fpm
// through cloudflare:sockets, the probe module bundled.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "vitest";
import { processRssBytes, processTree } from "../../bench/cpu.ts";
import { WRANGLER_NODE, wranglerDev, writeCheckoutWorkerConfig } from "../helpers/wrangler.ts";
import { conformance, PUBLIC, type Target } from "./suite.ts";

const workerd: Target = {
  name: "workerd",
  capabilities: { spawn: false, clientAddress: false, ownServer: false, threads: false, files: false, probeModule: "probe.wasm" },
  async start(routes) {
    const dir = mkdtempSync(join(tmpdir(), "postern-conformance-workerd-"));
    writeCheckoutWorkerConfig(dir, "postern-conformance", join(import.meta.dirname, "workerd/worker.ts"), [
      "[assets]",
      `directory = ${JSON.stringify(PUBLIC)}`,
      "[vars]",
      `POSTERN_TOML = ${JSON.stringify(routes)}`,
    ]);
    const dev = await wranglerDev(dir).catch((err: unknown) => {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    });
    const { proc } = dev;
    let workerd: number | undefined;
    return {
      url: dev.url,
      // The workerd process wrangler started: it runs the Worker.
      rss() {
        // Found once: the server is the same process for the whole run.
        workerd ??= processTree(proc.pid!).find((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd");
        if (workerd === undefined) throw new Error("no workerd process under wrangler");
        return processRssBytes(workerd);
      },
      async stop() {
        await dev.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

if (WRANGLER_NODE) conformance(workerd);
else test.skip("conformance on workerd (skipped: wrangler needs Node >= 22)");
