// Case `wasi`: HTTP -> a WASI CGI module instantiated per request (postern's
// `wasi` gateway) against the same C program compiled natively and started
// per request by lighttpd's mod_cgi, the way CGI programs run without
// WebAssembly. Both print the same CGI answer (examples/wasi/src/hello.c).

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchCase, Scenario, Server } from "../case.ts";
import { pidsWithCommandLine, processTree } from "../cpu.ts";
import { expectAnswer } from "../check.ts";
import { startPosternProcess } from "../processes.ts";
import { startLighttpd } from "../../test/helpers/lighttpd.ts";

const SOURCE = fileURLToPath(new URL("../../examples/wasi/src/hello.c", import.meta.url));
const MODULE = fileURLToPath(new URL("../../examples/wasi/hello.wasm", import.meta.url));

const scenarios: Scenario[] = [
  { name: "hello-c32", title: "hello (native under lighttpd, WASI under postern), 32 connections", path: "/hello", connections: 32, metric: "rps" },
  { name: "hello-c256", title: "hello (native under lighttpd, WASI under postern), 256 connections", path: "/hello", connections: 256, metric: "rps" },
];

export const benchCase: BenchCase = {
  name: "wasi",
  description:
    "examples/wasi/src/hello.c as a WASI module under postern's wasi gateway (a fresh instance per request in worker threads) " +
    "and compiled natively (cc -O2) under lighttpd mod_cgi (a process per request): 32 and 256 connections (req/s, p99).",
  requires: [
    { names: ["cc", "gcc"], apt: "gcc", versionArgs: ["--version"] },
    { names: ["lighttpd"], apt: "lighttpd" },
  ],
  scenarios: () => scenarios,
  async start(_settings, cleanup, binaries) {
    const root = mkdtempSync(join(tmpdir(), "postern-bench-wasi-"));
    cleanup.add("the compiled program", async () => rmSync(root, { recursive: true, force: true }));
    execFileSync(binaries.get("cc")!, ["-O2", "-o", join(root, "hello"), SOURCE], { stdio: ["ignore", "ignore", "pipe"] });
    const servers: Server[] = [];

    const lighttpd = await startLighttpd({ root, cgi: {} });
    cleanup.add("lighttpd", () => lighttpd.stop());
    servers.push({
      name: "lighttpd (native)",
      role: "baseline",
      note: "lighttpd, one process, mod_cgi: forks itself and execs the native program per request",
      url: `http://127.0.0.1:${lighttpd.port}`,
      gatewayPids: () => [...new Set(pidsWithCommandLine(join(lighttpd.dir, "lighttpd.conf")).flatMap(processTree))],
      backendPids: () => [],
      errorLog: () => lighttpd.errorLog(),
    });

    const route = ["[[routes]]", 'path = "*"', 'gateway = "wasi"', `module = ${JSON.stringify(MODULE)}`].join("\n");
    const postern = await startPosternProcess(`${route}\n`, cleanup, "postern");
    servers.push({
      name: "postern (WASI)",
      role: "subject",
      note: "postern serve (one Node process), wasi route with its defaults: the module compiled once, a fresh instance per request in one of 4 worker threads",
      url: postern.url,
      gatewayPids: () => processTree(postern.pid),
      backendPids: () => [],
      errorLog: () => postern.errorLog(),
    });

    for (const server of servers) await expectAnswer(server, "/hello", "Hello, world!\n");
    return servers;
  },
};
