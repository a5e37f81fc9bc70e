// Case `runtimes`: postern itself on Node, Deno and Bun (the same CLI and
// config, deno and bun from npm), each in front of a php-fpm of its own and
// running the WASI hello module: which runtime serves the most, and by how
// much. Node is the baseline the others are divided by.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchCase, Scenario, Server } from "../case.ts";
import { processTree } from "../cpu.ts";
import { expectAnswer } from "../check.ts";
import { startPosternProcess } from "../processes.ts";
import { startPhpFpm } from "../../test/helpers/php-fpm.ts";
import { POSTERN_CLI } from "../../test/helpers/postern-cli.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURES = join(REPO, "test/fixtures");
const HELLO_WASM = join(REPO, "examples/wasi/hello.wasm");
/** php-fpm children per server, and the route's max_conns. */
const CHILDREN = 4;

const scenarios: Scenario[] = [
  { name: "php-hello-c32", title: "hello.php through php-fpm, 32 connections", path: "/php/hello.php", connections: 32, metric: "rps" },
  { name: "wasi-hello-c32", title: "hello.wasm (WASI), 32 connections", path: "/wasi/hello", connections: 32, metric: "rps" },
];

const RUNTIMES = [
  { name: "node", role: "baseline" as const, command: POSTERN_CLI.node },
  { name: "deno", role: "subject" as const, command: POSTERN_CLI.deno },
  { name: "bun", role: "subject" as const, command: POSTERN_CLI.bun },
];

export const benchCase: BenchCase = {
  name: "runtimes",
  description:
    `postern serve on Node, Deno and Bun with the same config: /php/* to a php-fpm of its own (pm=static, ${CHILDREN} children, ` +
    "unix socket, max_conns to match) and /wasi/* running examples/wasi/hello.wasm (4 worker threads); req/s and p99 per runtime.",
  backend: "php-fpm",
  requires: [{ names: ["php-fpm8.2", "php-fpm"], apt: "php-fpm" }],
  scenarios: () => scenarios,
  async start(_settings, cleanup, binaries) {
    const servers: Server[] = [];
    for (const runtime of RUNTIMES) {
      const name = `postern on ${runtime.name}`;
      const fpm = await startPhpFpm(binaries.get("php-fpm8.2") ?? binaries.get("php-fpm")!, { children: CHILDREN });
      cleanup.add(`php-fpm of ${name}`, () => fpm.stop());
      const routes = [
        "[[routes]]",
        'path = "/php/*"',
        'gateway = "fastcgi"',
        `backend = ${JSON.stringify(`unix:${fpm.socket}`)}`,
        `root = ${JSON.stringify(FIXTURES)}`,
        `max_conns = ${CHILDREN}`,
        "",
        "[[routes]]",
        'path = "/wasi/*"',
        'gateway = "wasi"',
        `module = ${JSON.stringify(HELLO_WASM)}`,
        "",
      ].join("\n");
      const postern = await startPosternProcess(routes, cleanup, name, runtime.command);
      servers.push({
        name,
        role: runtime.role,
        note: `${runtime.command.map((part) => part.replace(REPO, "")).join(" ")} serve`,
        url: postern.url,
        gatewayPids: () => processTree(postern.pid),
        backendPids: () => fpm.children(),
        errorLog: () => postern.errorLog(),
      });
    }
    for (const server of servers) for (const scenario of scenarios) await expectAnswer(server, scenario.path);
    return servers;
  },
};
