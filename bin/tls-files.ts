// The files `[tls]` names, read for the runtime's TLS server: at start and
// again on every SIGHUP (a renewed certificate is picked up without a
// restart). Paths are taken from the config file's directory. A key that is
// not its certificate's is named here, before the runtime's TLS library
// refuses the pair with a message that names neither file.

import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Config } from "../src/config.ts";
import type { TlsMaterial } from "../src/tls/material.ts";
import { RuntimeFailure, whyNot } from "./failure.ts";

/** The PEM text of every certificate and key; undefined without `[tls]`. A file that cannot be read is a RuntimeFailure naming its key. */
export function readTlsFiles(config: Config, baseDir: string): TlsMaterial | undefined {
  const tls = config.tls;
  if (tls === undefined) return undefined;
  const read = (key: string, path: string, kind: string) => {
    const file = resolve(baseDir, path);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new RuntimeFailure(`${key}: cannot read ${file}: ${whyNot(err, { path: file })}`);
    }
    if (!text.includes(`-----BEGIN ${kind}`) && !(kind === "PRIVATE KEY" && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))) {
      throw new RuntimeFailure(`${key}: ${file} holds no PEM ${kind.toLowerCase()}`);
    }
    return text;
  };
  const pair = (at: string, certPath: string, keyPath: string) => {
    const cert = read(`${at}.cert`, certPath, "CERTIFICATE");
    const key = read(`${at}.key`, keyPath, "PRIVATE KEY");
    if (matches(cert, key) === false) {
      throw new RuntimeFailure(`${at}.key: ${resolve(baseDir, keyPath)} is not the private key of the certificate in ${resolve(baseDir, certPath)} (${at}.cert)`);
    }
    return { cert, key };
  };
  return {
    ...pair("tls", tls.cert, tls.key),
    ...(tls.ca === undefined ? {} : { ca: read("tls.ca", tls.ca, "CERTIFICATE") }),
    clientAuth: tls.clientAuth,
    certs: tls.certs.map((entry, i) => ({ hosts: entry.host, ...pair(`tls.certs[${i}]`, entry.cert, entry.key) })),
  };
}

/** Whether `key` is the private key of the first certificate in `cert`; undefined when this runtime cannot tell (an encrypted key, no checkPrivateKey), for its TLS library to judge. */
function matches(cert: string, key: string): boolean | undefined {
  try {
    return new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch {
    return undefined;
  }
}
