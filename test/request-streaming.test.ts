// request_buffering = false against a real CGI script: a body still goes to
// the script as it arrives (the cases of slow clients holding no backend, on
// every runtime, are in test/conformance/suite.ts).

import { join } from "node:path";
import { expect, test } from "vitest";
import { startPostern } from "./helpers/postern.ts";
import { upload } from "./helpers/slow-client.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");

test("request_buffering = false: the script has the first bytes of a body before the rest is sent", async () => {
  const postern = await startPostern(`
[[routes]]
path = "/cgi/*"
gateway = "cgi"
root = "${FIXTURES}"
interpreters = { ".sh" = "sh" }
request_buffering = false
`);
  const client = upload(Number(new URL(postern.url).port), "/cgi/echo.sh", 10);
  try {
    client.send("hello");
    const text = () => client.received().toString("latin1");
    const deadline = Date.now() + 10_000;
    while (!text().includes("hello") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    // The answer so far (chunked, as the script writes it) echoes what was sent, and no more.
    expect(text()).toMatch(/^HTTP\/1\.1 200 [^]*\r\n\r\n5\r\nhello\r\n$/);
    client.send("world");
    while (!text().includes("world") && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(text()).toMatch(/hello\r\n5\r\nworld\r\n/);
  } finally {
    client.stop();
    await postern.stop();
  }
}, 30_000);
