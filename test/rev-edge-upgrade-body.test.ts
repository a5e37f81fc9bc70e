// A request on Node that carries Upgrade but is not upgraded (h2c, as
// `curl --http2` sends on plain http://; or any protocol no route switches
// to) comes through Node's "upgrade" event, outside its request parser: its
// body must still reach the route whole, as it would without the Upgrade.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startBackend, type Backend, type Seen } from "./helpers/proxy-backend.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { rawRequest } from "./helpers/raw-http.ts";

describe("a request with Upgrade that no route switches keeps its body (Node)", () => {
  let backend: Backend;
  let postern: RunningPostern;
  let port = 0;

  beforeAll(async () => {
    backend = await startBackend("a");
    postern = await startPostern(`[[routes]]\npath = "/*"\ngateway = "proxy"\nbackend = "http://127.0.0.1:${backend.port}"\n`);
    port = Number(new URL(postern.url).port);
  });

  afterAll(async () => {
    await postern?.stop();
    await backend?.stop();
  });

  test("POST with Upgrade: h2c and a Content-Length body", async () => {
    const body = "hello=world";
    const answer = await rawRequest(
      port,
      `POST /up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(answer.status).toBe(200);
    const seen = JSON.parse(answer.body.toString()) as Seen;
    expect(seen).toMatchObject({ method: "POST", length: body.length });
  });

  test("a 1 MiB body that comes in many reads", async () => {
    const body = "x".repeat(1024 * 1024);
    const answer = await rawRequest(port, `PUT /up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toMatchObject({ method: "PUT", length: body.length });
  });

  test("a chunked body, which this path does not parse: 411, nothing sent on", async () => {
    const before = backend.connections();
    const answer = await rawRequest(port, `POST /up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
    expect(answer.status).toBe(411);
    expect(backend.connections()).toBe(before);
  });
});
