// The files `[tls]` names, read for the runtime's TLS server: at start and
// again on every SIGHUP (a renewed certificate is picked up without a
// restart). Paths are taken from the config file's directory.

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
  return {
    cert: read("tls.cert", tls.cert, "CERTIFICATE"),
    key: read("tls.key", tls.key, "PRIVATE KEY"),
    ...(tls.ca === undefined ? {} : { ca: read("tls.ca", tls.ca, "CERTIFICATE") }),
    clientAuth: tls.clientAuth,
    certs: tls.certs.map((pair, i) => ({
      hosts: pair.host,
      cert: read(`tls.certs[${i}].cert`, pair.cert, "CERTIFICATE"),
      key: read(`tls.certs[${i}].key`, pair.key, "PRIVATE KEY"),
    })),
  };
}
