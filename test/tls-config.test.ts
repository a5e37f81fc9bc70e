// The `[tls]` table, https:// listen addresses and redirect_https as
// postern.toml and the command line take them: each wrong value named by its
// key and line; the certificate chosen by SNI; the SSL_* variables as
// lighttpd's mod_openssl spells them.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseConfig } from "../src/config.ts";
import { keyPairFor, type TlsMaterial } from "../src/tls/material.ts";
import { sslVariables } from "../src/tls/variables.ts";
import { createApp, gatewaySchemas } from "../gateways/index.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { configError } from "./helpers/config-error.ts";
import { runPostern } from "./helpers/postern-cli.ts";

const ROUTE = '[[routes]]\ngateway = "static"\nroot = "/srv/www"\n';
const TLS = '[tls]\ncert = "cert.pem"\nkey = "key.pem"\n';

describe("postern.toml", () => {
  test("an https:// address with [tls] is taken, paths as written", () => {
    const config = parseConfig(`listen = ["https://127.0.0.1:8443", "http://127.0.0.1:8080"]\nredirect_https = true\n${TLS}${ROUTE}`, "postern.toml", gatewaySchemas);
    expect(config.tls).toEqual({ cert: "cert.pem", key: "key.pem", clientAuth: "off", certs: [] });
    expect(config.redirectHttps).toBe(true);
  });

  test.each([
    ["an https:// address without [tls]", `listen = ["https://127.0.0.1:8443"]\n${ROUTE}`, "postern.toml:1: listen: an https:// address needs a [tls] table"],
    ["a unix socket with a scheme", `listen = ["127.0.0.1:8080", "https://unix:/run/p.sock"]\n${TLS}${ROUTE}`, 'postern.toml:1: listen[1]: "https://unix:/run/p.sock": a unix socket takes no scheme'],
    ["a listen address that is none", `listen = ["https://localhost"]\n${TLS}${ROUTE}`, "postern.toml:1: listen[0]: not an address"],
    ["client_auth without ca", `listen = ["https://127.0.0.1:8443"]\n${TLS}client_auth = "require"\n${ROUTE}`, "postern.toml:5: tls.client_auth: needs `ca`"],
    ["client_auth of another word", `listen = ["https://127.0.0.1:8443"]\n${TLS}client_auth = "optional"\n${ROUTE}`, 'postern.toml:5: tls.client_auth: expected one of "off", "request", "require"'],
    ["a [tls] without key", `listen = ["https://127.0.0.1:8443"]\n[tls]\ncert = "c.pem"\n${ROUTE}`, "tls.key: missing"],
    ["a certificate's host that is no host name", `listen = ["https://127.0.0.1:8443"]\n${TLS}[[tls.certs]]\nhost = ["a.*.org"]\ncert = "a.pem"\nkey = "a.key"\n${ROUTE}`, "postern.toml:6: tls.certs[0].host: \"a.*.org\": a wildcard stands only as the first label"],
    ["redirect_https without an https:// address", `redirect_https = true\n${ROUTE}`, "postern.toml:1: redirect_https: needs an https:// address in `listen`"],
  ])("%s is refused", (_, text, message) => {
    expect(configError(text, gatewaySchemas).message).toContain(message);
  });
});

describe("the command line", () => {
  test("-b https://... without [tls] is refused, naming the address", () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-tls-cli-"));
    try {
      writeFileSync(join(dir, "www.txt"), "x");
      const r = runPostern(["cgi", dir, "-b", "https://127.0.0.1:0"]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("cannot listen on https://127.0.0.1:0: an https:// address needs a [tls] table");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("postern check takes an https:// address", () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-tls-cli-"));
    try {
      writeFileSync(join(dir, "postern.toml"), `listen = ["https://127.0.0.1:8443", "127.0.0.1:8080"]\n${TLS}${ROUTE.replace("/srv/www", dir)}`);
      const r = runPostern(["check", "-c", join(dir, "postern.toml")]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a certificate file that cannot be read is named by its key", () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-tls-cli-"));
    try {
      writeFileSync(join(dir, "postern.toml"), `listen = ["https://127.0.0.1:0"]\n${TLS}${ROUTE.replace("/srv/www", dir)}`);
      const r = runPostern(["serve", "-c", join(dir, "postern.toml")]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`tls.cert: cannot read ${join(dir, "cert.pem")}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the certificate for a server name (SNI)", () => {
  const material: TlsMaterial = {
    cert: "default",
    key: "k",
    clientAuth: "off",
    certs: [
      { hosts: ["example.com"], cert: "exact", key: "k" },
      { hosts: ["*.example.org", "example.net"], cert: "wild", key: "k" },
    ],
  };
  test.each([
    [undefined, "default"],
    ["", "default"],
    ["example.com", "exact"],
    ["EXAMPLE.com.", "exact"],
    ["a.example.org", "wild"],
    ["a.b.example.org", "wild"],
    ["example.org", "default"],
    ["example.net", "wild"],
    ["other.test", "default"],
  ])("%s gets %s", (name, cert) => expect(keyPairFor(material, name).cert).toBe(cert));
});

describe("lighttpd's SSL_* variables", () => {
  test("protocol and cipher", () => {
    expect(sslVariables({ protocol: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", serverName: "a.test" })).toEqual({
      SSL_PROTOCOL: "TLSv1.3",
      SSL_CIPHER: "TLS_AES_256_GCM_SHA384",
    });
  });
  test("a verified client certificate", () => {
    const subject = [["C", "DE"], ["O", "Example"], ["CN", "alice"]] as const;
    expect(sslVariables({ protocol: "TLSv1.2", client: { verify: "SUCCESS", subject, issuer: [["CN", "CA"]], serial: "0a1b" } })).toEqual({
      SSL_PROTOCOL: "TLSv1.2",
      SSL_CLIENT_VERIFY: "SUCCESS",
      SSL_CLIENT_S_DN: "/C=DE/O=Example/CN=alice",
      SSL_CLIENT_S_DN_C: "DE",
      SSL_CLIENT_S_DN_O: "Example",
      SSL_CLIENT_S_DN_CN: "alice",
      SSL_CLIENT_I_DN: "/CN=CA",
      SSL_CLIENT_M_SERIAL: "0A1B",
    });
  });
  test("no client certificate: NONE, nothing else", () => {
    expect(sslVariables({ client: { verify: "NONE" } })).toEqual({ SSL_CLIENT_VERIFY: "NONE" });
  });
});

describe("redirect_https where the platform holds the connection (Workers: no conn in the env)", () => {
  test("an https: URL is served, an http: one redirected", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-tls-app-"));
    try {
      writeFileSync(join(dir, "a.txt"), "a\n");
      const config = parseConfig(`listen = ["https://127.0.0.1:8443"]\nredirect_https = true\naccess_log = "off"\n${TLS}${ROUTE.replace("/srv/www", dir)}`, "postern.toml", gatewaySchemas);
      const gateway = createApp(config, nodeRuntime, dir);
      await gateway.ready;
      try {
        expect((await gateway.app.fetch(new Request("https://example.org/a.txt"))).status).toBe(200);
        const plain = await gateway.app.fetch(new Request("http://example.org/a.txt?q=1"));
        expect([plain.status, plain.headers.get("location")]).toEqual([308, "https://example.org:8443/a.txt?q=1"]);
      } finally {
        await gateway.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
