// Slow clients against real CGI scripts (the cases of php-fpm and of every
// runtime are in test/conformance/suite.ts): a slow chunked upload holds no
// script slot, and request_buffering = false still streams a body to the
// script as it arrives.

import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { request } from "./helpers/answer.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { slowUpload, upload, type SlowClient } from "./helpers/slow-client.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");

describe("slow clients and CGI scripts", () => {
  let postern: RunningPostern;
  const clients: SlowClient[] = [];
  const port = () => Number(new URL(postern.url).port);

  const cgiRoute = (extra = "") => `
[[routes]]
path = "/cgi/*"
gateway = "cgi"
root = "${FIXTURES}"
interpreters = { ".sh" = "sh" }
${extra}
`;

  beforeAll(async () => {
    postern = await startPostern(cgiRoute());
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.stop();
  });

  afterAll(async () => {
    await postern?.stop();
  });

  test("64 chunked uploads sending a byte a second (max_procs = 64): another script runs at once", async () => {
    for (let i = 0; i < 64; i++) clients.push(slowUpload(port(), "/cgi/echo.sh", "chunked", 1_000));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const answer = await request(`${postern.url}/cgi/env.sh`, {}, 10_000);
    expect(answer.status).toBe(200);
    expect(answer.body).toContain("REQUEST_METHOD=GET");
  }, 30_000);

  test("request_buffering = false: the script has the first bytes of a body before the rest is sent", async () => {
    const streamed = await startPostern(cgiRoute("request_buffering = false"));
    const client = upload(Number(new URL(streamed.url).port), "/cgi/echo.sh", 10);
    clients.push(client);
    client.send("hello");
    const text = () => client.received().toString("latin1");
    const deadline = Date.now() + 10_000;
    while (!text().includes("hello") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    // The answer so far (chunked, as the script writes it) echoes what was sent, and no more.
    expect(text()).toMatch(/^HTTP\/1\.1 200 [^]*\r\n\r\n5\r\nhello\r\n$/);
    client.send("world");
    while (!text().includes("world") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(text()).toMatch(/hello\r\n5\r\nworld\r\n/);
    client.stop();
    await streamed.stop();
  }, 30_000);
});
