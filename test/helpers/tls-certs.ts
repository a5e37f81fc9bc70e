// Certificates made by Debian's openssl for the TLS tests, in a temporary
// directory: a CA, a server certificate for localhost and 127.0.0.1, a
// second one for SNI (other.test, *.wild.test), a client certificate the CA
// issued, and a server certificate issued again (a renewal) to swap in.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates {
  dir: string;
  /** PEM files, by name: ca.pem, server.pem + server.key, other.pem + other.key, client.pem + client.key, rogue.pem + rogue.key (self-signed), renewed.pem + renewed.key. */
  path(name: string): string;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** A key and a certificate the CA signs, for `subject`, with these subjectAltNames and extended key usage. */
function issue(dir: string, name: string, subject: string, altNames: string[], usage: "serverAuth" | "clientAuth"): void {
  openssl(dir, ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  const ext = [`extendedKeyUsage=${usage}`, ...(altNames.length > 0 ? [`subjectAltName=${altNames.join(",")}`] : [])].join("\n");
  writeFileSync(join(dir, `${name}.ext`), ext + "\n");
  openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`]);
}

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "postern-tls-"));
  openssl(dir, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=postern test CA"]);
  issue(dir, "server", "/O=postern/CN=localhost", ["DNS:localhost", "IP:127.0.0.1"], "serverAuth");
  issue(dir, "other", "/O=postern/CN=other.test", ["DNS:other.test", "DNS:*.wild.test"], "serverAuth");
  issue(dir, "renewed", "/O=postern renewed/CN=localhost", ["DNS:localhost", "IP:127.0.0.1"], "serverAuth");
  issue(dir, "client", "/C=DE/O=postern/CN=alice", [], "clientAuth");
  // A client certificate no CA postern trusts issued.
  openssl(dir, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "rogue.key", "-out", "rogue.pem", "-days", "2", "-subj", "/CN=mallory"]);
  return { dir, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The subject line of the certificate a TLS server presents for `serverName` (openssl s_client), or the handshake's error output. */
export function presentedSubject(port: number, serverName?: string, extra: string[] = []): { status: number; subject: string; output: string } {
  try {
    const output = execFileSync("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, ...(serverName ? ["-servername", serverName] : []), ...extra], {
      input: "",
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
      timeout: 15_000,
    });
    return { status: 0, subject: /^subject=(.*)$/m.exec(output)?.[1] ?? "", output };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { status: e.status ?? 1, subject: "", output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}
