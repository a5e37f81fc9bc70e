// A `[tls]` key that is not its certificate's stops postern at start with a
// message naming the key and the file, on each runtime (their TLS libraries
// say only "key values mismatch"); a matching pair still starts.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { spawnPostern, type CliRuntime } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";
import { makeCertificates, type TestCertificates } from "./helpers/tls-certs.ts";

describe("a key that does not match its certificate", () => {
  let certs: TestCertificates;

  beforeAll(() => {
    certs = makeCertificates();
  });

  afterAll(() => certs?.remove());

  const config = async (name: string, tls: string): Promise<{ file: string; port: number }> => {
    const port = await freePort();
    const file = join(certs.dir, `${name}.toml`);
    writeFileSync(file, `listen = "https://127.0.0.1:${port}"\naccess_log = false\n${tls}\n[[routes]]\npath = "/*"\ngateway = "respond"\nstatus = 200\n`);
    return { file, port };
  };

  const exitOf = (runtime: CliRuntime, file: string): Promise<{ code: number | null; log: string }> => {
    const { proc, log } = spawnPostern(runtime, ["serve", "--config", file]);
    return new Promise((resolve) => proc.once("exit", (code) => resolve({ code, log: log() })));
  };

  for (const runtime of ["node", "deno", "bun"] as const satisfies CliRuntime[]) {
    test(`on ${runtime}: tls.key and [[tls.certs]] keys are named, a good pair starts`, async () => {
      const wrong = await config(`${runtime}-wrong`, `[tls]\ncert = "${certs.path("server.pem")}"\nkey = "${certs.path("other.key")}"`);
      const top = await exitOf(runtime, wrong.file);
      expect(top.code).not.toBe(0);
      expect(top.log).toContain(`tls.key: ${certs.path("other.key")} is not the private key of the certificate in ${certs.path("server.pem")}`);

      const sni = await config(
        `${runtime}-sni`,
        `[tls]\ncert = "${certs.path("server.pem")}"\nkey = "${certs.path("server.key")}"\n[[tls.certs]]\nhost = ["other.test"]\ncert = "${certs.path("other.pem")}"\nkey = "${certs.path("server.key")}"`,
      );
      const named = await exitOf(runtime, sni.file);
      expect(named.code).not.toBe(0);
      expect(named.log).toContain(`tls.certs[0].key: ${certs.path("server.key")} is not the private key`);

      const good = await config(`${runtime}-good`, `[tls]\ncert = "${certs.path("server.pem")}"\nkey = "${certs.path("server.key")}"`);
      const { proc, log } = spawnPostern(runtime, ["serve", "--config", good.file]);
      try {
        await waitForPort(proc, good.port, `postern on ${runtime}`, log, 30_000);
      } finally {
        await stopProcessGroup(proc, "SIGTERM");
      }
    }, 90_000);
  }
});
