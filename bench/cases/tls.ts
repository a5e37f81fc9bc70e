// Case `tls`: HTTPS termination, postern on Node, Deno and Bun against
// lighttpd 1.4 with mod_openssl, all presenting the same certificate (ECDSA
// P-256, made by openssl for the run) and serving the same small static
// file: TLS handshakes per second (wrk with `Connection: close`, so every
// request opens a new TLS connection) and requests per second on kept
// connections (the cost of the record layer and HTTP/1.1 over it).

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchCase, Scenario, Server } from "../case.ts";
import { pidsWithCommandLine, processTree } from "../cpu.ts";
import { startPosternProcess } from "../processes.ts";
import { freePort } from "../../test/helpers/ports.ts";
import { startServerProcess } from "../../test/helpers/server-process.ts";
import { POSTERN_CLI } from "../../test/helpers/postern-cli.ts";
import { makeCertificates } from "../../test/helpers/tls-certs.ts";

/** The file every server answers: 13 bytes, as hello.php's answer. */
const BODY = "Hello, world\n";

const scenarios: Scenario[] = [
  { name: "handshake-c32", title: "a new TLS connection per request (Connection: close), 32 connections", path: "/hello.txt", connections: 32, metric: "rps", headers: { Connection: "close" } },
  { name: "keepalive-c32", title: "hello.txt on kept TLS connections, 32 connections", path: "/hello.txt", connections: 32, metric: "rps" },
];

export const benchCase: BenchCase = {
  name: "tls",
  description:
    "HTTPS on one certificate (ECDSA P-256) and a 13-byte static file: lighttpd 1.4 + mod_openssl against postern on Node, Deno and Bun; " +
    "handshakes/s with a new TLS connection per request, and req/s on kept connections (32 connections each).",
  requires: [
    { names: ["lighttpd"], apt: "lighttpd lighttpd-mod-openssl" },
    { names: ["openssl"], apt: "openssl", versionArgs: ["version"] },
    { names: ["curl"], apt: "curl", versionArgs: ["--version"] },
  ],
  scenarios: () => scenarios,
  async start(_settings, cleanup, binaries) {
    const certs = makeCertificates();
    cleanup.add("certificates", async () => certs.remove());
    const root = join(certs.dir, "www");
    mkdirSync(root);
    writeFileSync(join(root, "hello.txt"), BODY);
    const servers: Server[] = [];

    const lighttpd = await startTlsLighttpd(binaries.get("lighttpd")!, root, certs.path("server.pem"), certs.path("server.key"));
    cleanup.add("lighttpd", () => lighttpd.stop());
    servers.push({
      name: "lighttpd",
      role: "baseline",
      note: "lighttpd 1.4, one process, mod_openssl (ssl.pemfile/ssl.privkey, MinProtocol TLSv1.2, its default ciphers), mod_staticfile",
      url: `https://127.0.0.1:${lighttpd.port}`,
      gatewayPids: () => [...new Set(pidsWithCommandLine(join(lighttpd.dir, "lighttpd.conf")).flatMap(processTree))],
      backendPids: () => [],
      errorLog: () => lighttpd.errorLog(),
    });

    const tls = `[tls]\ncert = ${JSON.stringify(certs.path("server.pem"))}\nkey = ${JSON.stringify(certs.path("server.key"))}`;
    const route = `[[routes]]\ngateway = "static"\nroot = ${JSON.stringify(root)}\n`;
    for (const runtime of ["node", "deno", "bun"] as const) {
      const name = `postern on ${runtime}`;
      const postern = await startPosternProcess(route, cleanup, name, POSTERN_CLI[runtime], { tls });
      servers.push({
        name,
        role: "subject",
        note: `postern serve on ${runtime}, an https:// listen address with [tls] cert and key, one static route`,
        url: postern.url,
        gatewayPids: () => processTree(postern.pid),
        backendPids: () => [],
        errorLog: () => postern.errorLog(),
      });
    }
    for (const server of servers) {
      const answer = execFileSync(binaries.get("curl")!, ["-sS", "--cacert", certs.path("ca.pem"), `${server.url}/hello.txt`], { encoding: "utf8" });
      if (answer !== BODY) throw new Error(`${server.name}: /hello.txt answered ${JSON.stringify(answer)}: ${server.errorLog()}`);
    }
    return servers;
  },
};

/** lighttpd with mod_openssl on a free loopback port, serving `root` over TLS only. */
async function startTlsLighttpd(binary: string, root: string, cert: string, key: string) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "postern-bench-lighttpd-"));
  const q = (s: string) => JSON.stringify(s);
  writeFileSync(
    join(dir, "lighttpd.conf"),
    `server.modules += ( "mod_openssl" )
server.document-root = ${q(root)}
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = ${q(join(dir, "error.log"))}
server.max-keep-alive-requests = 100000
ssl.engine = "enable"
ssl.pemfile = ${q(cert)}
ssl.privkey = ${q(key)}
ssl.openssl.ssl-conf-cmd = ( "MinProtocol" => "TLSv1.2" )
`,
  );
  try {
    return await startServerProcess({ name: "lighttpd", binary, args: ["-D", "-f", join(dir, "lighttpd.conf")], port, dir, errorLogPath: join(dir, "error.log"), stopSignal: "SIGINT" });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
