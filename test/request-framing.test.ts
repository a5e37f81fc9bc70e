// How a request's framing reaches the gateways (RFC 9112 §6, §7): a body
// whose chunk lines are malformed is refused before any script runs. (An
// absolute-form target's authority on each runtime: test/http-corpus.test.ts.)

import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { exchange } from "./helpers/raw-exchange.ts";

const RAN = join(import.meta.dirname, "fixtures/cgi/ran.sh");

describe("a malformed chunked body runs nothing", () => {
  let dir: string;
  let postern: RunningPostern;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-framing-"));
    copyFileSync(RAN, join(dir, "ran.sh"));
    postern = await startPostern(`[[routes]]\npath = "*"\ngateway = "cgi"\nroot = ${JSON.stringify(dir)}\ninterpreters = { ".sh" = "sh" }\n`);
  });
  afterAll(async () => {
    await postern?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, chunks] of [
    ["a signed chunk size (+3)", "5\r\nhello\r\n+3\r\nabc\r\n0\r\n\r\n"],
    ["a chunk size with a space", "5 \r\nhello\r\n0\r\n\r\n"],
    ["a Content-Length trailer", "5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n"],
  ]) {
    it(`${name}: 400, the script never ran`, async () => {
      const port = Number(new URL(postern.url).port);
      const ex = await exchange(port, Buffer.from(`POST /ran.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`), { idleMs: 500 });
      expect(ex.answers[0]?.status).toBe(400);
      expect(existsSync(join(dir, "ran.sh.ran"))).toBe(false);
    });
  }
});
