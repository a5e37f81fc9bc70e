// HTTP/2 on Node's https:// listeners: the SETTINGS postern announces bound
// what one connection may hold open (RFC 9113 §6.5.2), so that a client
// cannot open streams without limit; Node's own default is 2^32-1.

import { readFileSync } from "node:fs";
import { connect, type ClientHttp2Session, type Settings } from "node:http2";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { serve, type RunningServer } from "../runtimes/node/serve.ts";
import { makeCertificates, type TestCertificates } from "./helpers/tls-certs.ts";

describe("HTTP/2 settings of Node's secure server", () => {
  let certs: TestCertificates;
  let server: RunningServer;
  let port = 0;

  beforeAll(async () => {
    certs = makeCertificates();
    const app = { fetch: () => new Response("ok") };
    server = await serve(app, {
      listen: ["https://127.0.0.1:0"],
      tls: { cert: readFileSync(certs.path("server.pem"), "utf8"), key: readFileSync(certs.path("server.key"), "utf8"), clientAuth: "off", certs: [] },
    });
    const addr = server.addresses[0]!;
    if (addr.kind !== "tcp") throw new Error("expected a TCP address");
    port = addr.port;
  });

  afterAll(async () => {
    await server?.close();
    certs?.remove();
  });

  test("a connection may hold at most 128 streams at once (nginx's http2_max_concurrent_streams)", async () => {
    const session: ClientHttp2Session = connect(`https://127.0.0.1:${port}`, { ca: readFileSync(certs.path("ca.pem")) });
    try {
      const settings = await new Promise<Settings>((resolve, reject) => {
        session.once("remoteSettings", resolve);
        session.once("error", reject);
      });
      expect(settings.maxConcurrentStreams).toBe(128);
    } finally {
      session.destroy();
    }
  });
});
