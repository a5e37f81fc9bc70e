// Case `cgi`: HTTP -> CGI (RFC 3875), a process started per request. The same
// native program, compiled here with the machine's C compiler, runs under
// lighttpd's mod_cgi (DESIGN.md's first reference), under nginx, which has no
// CGI of its own and needs fcgiwrap (Debian's way), and under postern's `cgi`
// gateway, with and without its native spawner.
//
// A native program keeps an interpreter's start-up out of the figures: what is
// left is what each gateway spends to start a process, feed it and read it.

import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchCase, Scenario, Server } from "../case.ts";
import { pidsWithCommandLine, processTree } from "../cpu.ts";
import { expectAnswer } from "../check.ts";
import { startPosternProcess } from "../processes.ts";
import { startFcgiwrap } from "../../test/helpers/fcgiwrap.ts";
import { startLighttpd } from "../../test/helpers/lighttpd.ts";
import { startNginx } from "../../test/helpers/nginx.ts";

const SOURCE = fileURLToPath(new URL("../../test/fixtures/cgi/c/hello.c", import.meta.url));
const PROGRAM = "hello.cgi";
/**
 * fcgiwrap workers: each runs one program at a time, so this is nginx's CGI
 * concurrency. Debian starts one; one per core of the usual 2-core bench
 * machine keeps both cores busy (4 and 8 were not clearly faster in trials).
 */
const FCGIWRAP_WORKERS = 2;

const scenarios: Scenario[] = [
  { name: "hello-c32", title: `${PROGRAM} (a native program), 32 connections`, path: `/${PROGRAM}`, connections: 32, metric: "rps" },
  { name: "hello-c256", title: `${PROGRAM} (a native program), 256 connections`, path: `/${PROGRAM}`, connections: 256, metric: "rps" },
];

export const benchCase: BenchCase = {
  name: "cgi",
  description:
    "a native CGI program (test/fixtures/cgi/c/hello.c, cc -O2, 14-byte body) started per request by lighttpd mod_cgi, " +
    `nginx + fcgiwrap (${FCGIWRAP_WORKERS} workers) and postern's cgi gateway (native spawner, and the runtime's spawn): ` +
    "32 and 256 connections (req/s, p99).",
  requires: [
    { names: ["cc", "gcc"], apt: "gcc", versionArgs: ["--version"] },
    { names: ["lighttpd"], apt: "lighttpd" },
    { names: ["nginx"], apt: "nginx-light" },
    { names: ["fcgiwrap"], apt: "fcgiwrap", versionArgs: ["-h"] },
  ],
  scenarios: () => scenarios,
  async start(_settings, cleanup, binaries) {
    const root = mkdtempSync(join(tmpdir(), "postern-bench-cgi-"));
    // Run as root, postern starts the program as nobody, which must reach it.
    chmodSync(root, 0o755);
    cleanup.add("the compiled program", async () => rmSync(root, { recursive: true, force: true }));
    execFileSync(binaries.get("cc")!, ["-O2", "-o", join(root, PROGRAM), SOURCE], { stdio: ["ignore", "ignore", "pipe"] });
    const servers: Server[] = [];

    {
      // Every file under the root runs itself (cgi.assign "" => ""), as postern's default.
      const lighttpd = await startLighttpd({ root, cgi: {} });
      cleanup.add("lighttpd", () => lighttpd.stop());
      servers.push({
        name: "lighttpd",
        role: "baseline",
        note: "lighttpd, one process, mod_cgi: forks itself and execs the program per request",
        url: `http://127.0.0.1:${lighttpd.port}`,
        gatewayPids: () => treesOf(pidsWithCommandLine(join(lighttpd.dir, "lighttpd.conf"))),
        backendPids: () => [],
        errorLog: () => lighttpd.errorLog(),
      });
    }

    {
      const fcgiwrap = await startFcgiwrap({ workers: FCGIWRAP_WORKERS, binary: binaries.get("fcgiwrap")! });
      cleanup.add("fcgiwrap", () => fcgiwrap.stop());
      const nginx = await startNginx({ root, fastcgiPass: `unix:${fcgiwrap.socket}`, cgi: true });
      cleanup.add("nginx + fcgiwrap", () => nginx.stop());
      servers.push({
        name: "nginx + fcgiwrap",
        role: "baseline",
        note:
          `nginx, 1 worker, fastcgi_pass to fcgiwrap -c ${FCGIWRAP_WORKERS} (unix socket, a FastCGI connection per request; ` +
          "each worker forks and execs one program at a time). Gateway CPU: nginx's and fcgiwrap's processes",
        url: `http://127.0.0.1:${nginx.port}`,
        // nginx cannot run CGI alone: fcgiwrap is the part of this gateway that starts programs, as mod_cgi is lighttpd's.
        gatewayPids: () => [...treesOf(pidsWithCommandLine(nginx.dir)), ...fcgiwrap.pids()],
        backendPids: () => [],
        errorLog: () => nginx.errorLog(), // with fcgiwrap -f, the programs' stderr and fcgiwrap's per-request errors reach nginx's log
      });
    }

    for (const spawnHelper of [true, false]) {
      const name = spawnHelper ? "postern" : "postern spawn_helper=false";
      const route = [
        "[[routes]]",
        'path = "*"',
        'gateway = "cgi"',
        `root = ${JSON.stringify(root)}`,
        ...(spawnHelper ? [] : ["spawn_helper = false  # the runtime's own spawn (node:child_process)"]),
      ].join("\n");
      const postern = await startPosternProcess(`${route}\n`, cleanup, name);
      servers.push({
        name,
        role: spawnHelper ? "subject" : "shown",
        note: spawnHelper
          ? "postern serve (one Node process), cgi route, defaults: programs started by its native spawner (built with cc at start-up)"
          : "the same with spawn_helper = false: programs started with Node's child_process.spawn. Shown to make the spawner's gain visible",
        url: postern.url,
        gatewayPids: () => processTree(postern.pid), // Node and the spawner, its child
        backendPids: () => [],
        errorLog: () => postern.errorLog(),
      });
    }

    for (const server of servers) await expectAnswer(server, `/${PROGRAM}`, "Hello, world!\n");
    // postern falls back to the runtime's spawn (and logs why) when it cannot build its spawner:
    // the "postern" row would then measure the other row's configuration.
    const postern = servers.find((s) => s.name === "postern")!;
    if (postern.gatewayPids().length < 2) {
      throw new Error(`postern runs no native spawner beside its Node process: ${postern.errorLog() || "(nothing logged)"}`);
    }
    return servers;
  },
};

/** One request before measuring, so a misconfigured server stops the run instead of filling a table with errors. */
function treesOf(pids: number[]): number[] {
  return [...new Set(pids.flatMap(processTree))];
}
