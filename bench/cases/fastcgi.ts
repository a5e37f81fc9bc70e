// Case `fastcgi`: HTTP -> FastCGI -> php-fpm 8.2, postern against the two
// event-driven references, nginx (ngx_http_fastcgi_module) and lighttpd
// (mod_fastcgi), each in front of a php-fpm of its own.
//
// Every server gets its own php-fpm (pm = static, 2 children): a gateway that
// keeps connections open (FCGI_KEEP_CONN, FastCGI spec §5.1) pins a child to
// each kept connection, so sharing a pool would let one server's idle
// connections starve the next one measured.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchCase, Scenario, Server } from "../case.ts";
import { pidsWithCommandLine, processTree } from "../cpu.ts";
import { startPosternProcess } from "../processes.ts";
import { startLighttpd } from "../../test/helpers/lighttpd.ts";
import { startNginx } from "../../test/helpers/nginx.ts";
import { startPhpFpm, type PhpFpm } from "../../test/helpers/php-fpm.ts";

const ROOT = fileURLToPath(new URL("../../test/fixtures/php", import.meta.url));
/** php-fpm children per pool: small, so how a gateway queues for them shows. */
const CHILDREN = 2;

const scenarios: Scenario[] = [
  { name: "hello-c32", title: "hello.php, 32 connections", path: "/hello.php", connections: 32, metric: "rps" },
  { name: "hello-c256", title: "hello.php, 256 connections", path: "/hello.php", connections: 256, metric: "rps" },
  { name: "big-c8", title: "big.php?mb=10 (10 MiB answers), 8 connections", path: "/big.php?mb=10", connections: 8, metric: "throughput" },
];

export const benchCase: BenchCase = {
  name: "fastcgi",
  description:
    `php-fpm 8.2 behind each gateway (one php-fpm per server, pm=static, ${CHILDREN} children, unix socket): ` +
    "a tiny script at 32 and 256 connections (req/s, p99), and 10 MiB answers at 8 connections (MiB/s).",
  backend: "php-fpm",
  requires: [
    { names: ["php-fpm8.2", "php-fpm"], apt: "php-fpm" },
    { names: ["nginx"], apt: "nginx-light" },
    { names: ["lighttpd"], apt: "lighttpd" },
  ],
  scenarios: () => scenarios,
  async start(_settings, cleanup, binaries) {
    const phpFpm = binaries.get("php-fpm8.2")!;
    const fpm = async (name: string): Promise<PhpFpm> => {
      const f = await startPhpFpm(phpFpm, { children: CHILDREN });
      cleanup.add(`php-fpm of ${name}`, () => f.stop());
      return f;
    };
    const servers: Server[] = [];

    for (const keepalive of [undefined, 8]) {
      const name = keepalive === undefined ? "nginx" : `nginx keepalive=${keepalive}`;
      const backend = await fpm(name);
      const nginx = await startNginx({ root: ROOT, fastcgiPass: `unix:${backend.socket}`, keepalive });
      cleanup.add(name, () => nginx.stop());
      servers.push({
        name,
        role: keepalive === undefined ? "baseline" : "shown",
        note:
          keepalive === undefined
            ? "nginx, 1 worker, fastcgi_pass to the unix socket: a new FastCGI connection per request (Debian's default site)"
            : `upstream keepalive ${keepalive} + fastcgi_keep_conn on: up to ${keepalive} idle kept connections for ${CHILDREN} children; ` +
              "each kept connection pins a child, later requests wait in php-fpm's backlog (timeouts here are that starvation)",
        url: `http://127.0.0.1:${nginx.port}`,
        gatewayPids: () => treesOf(pidsWithCommandLine(nginx.dir)), // master and worker
        backendPids: () => backend.children(),
        errorLog: () => nginx.errorLog(),
      });
    }

    {
      const backend = await fpm("lighttpd");
      const lighttpd = await startLighttpd({ root: ROOT, fastcgiSocket: backend.socket });
      cleanup.add("lighttpd", () => lighttpd.stop());
      servers.push({
        name: "lighttpd",
        role: "baseline",
        note: "lighttpd, one process, mod_fastcgi to the unix socket: a new FastCGI connection per request",
        url: `http://127.0.0.1:${lighttpd.port}`,
        gatewayPids: () => treesOf(pidsWithCommandLine(join(lighttpd.dir, "lighttpd.conf"))),
        backendPids: () => backend.children(),
        errorLog: () => lighttpd.errorLog(),
      });
    }

    for (const maxConns of [CHILDREN, undefined]) {
      const name = maxConns === undefined ? "postern, capacity unknown" : `postern max_conns=${maxConns}`;
      const backend = await fpm(name);
      const route = [
        "[[routes]]",
        'path = "*"',
        'gateway = "fastcgi"',
        `backend = ${JSON.stringify(`unix:${backend.socket}`)}`,
        `root = ${JSON.stringify(ROOT)}`,
        ...(maxConns === undefined ? [] : [`max_conns = ${maxConns}  # the pool's size: pm.max_children`]),
      ].join("\n");
      const postern = await startPosternProcess(`${route}\n`, cleanup, name);
      servers.push({
        name,
        role: "subject",
        note:
          maxConns === undefined
            ? "postern serve (one Node process), no max_conns: php-fpm's FCGI_GET_VALUES answer has no FCGI_MAX_CONNS, so the pool size is unknown"
            : `postern serve (one Node process), max_conns = ${maxConns}, the pool's known size (pm.max_children); kept connections, at most ${maxConns}`,
        url: postern.url,
        gatewayPids: () => processTree(postern.pid),
        backendPids: () => backend.children(),
        errorLog: () => postern.errorLog(),
      });
    }
    return servers;
  },
};

function treesOf(pids: number[]): number[] {
  return [...new Set(pids.flatMap(processTree))];
}
