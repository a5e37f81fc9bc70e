// The FastCGI gateway frames what php-fpm sends (src/cgi/framing.ts): bytes
// past a script's Content-Length are dropped and logged once, and a script
// that runs on after its declared bytes does not hold up the client's next
// request on the connection. The splitting cases on every runtime are in
// test/conformance/framing.ts.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { keepAliveExchange } from "./helpers/keep-alive.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const ROOT = join(import.meta.dirname, "fixtures/php");

describe.skipIf(!PHP_FPM)("php-fpm answers whose Content-Length does not match their body", () => {
  let fpm: PhpFpm;
  let postern: RunningPostern;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-fcgi-framing-"));
    fpm = await startPhpFpm(PHP_FPM!, { children: 2 });
    postern = await startPostern(`
[[routes]]
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${ROOT}"
`);
    port = Number(new URL(postern.url).port);
  });

  afterAll(async () => {
    await postern?.stop();
    await fpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("what follows the declared bytes is dropped, and logged once", async () => {
    const { answers } = await keepAliveExchange(port, [{ path: "/framing.php?split&wait" }, { path: "/hello.php" }]);
    // The script writes the rest after a pause, while the next request is served on a connection of its own: the log line may come after both answers.
    for (let waited = 0; waited < 10_000 && !postern.errors.some((line) => line.includes("more output than its Content-Length of 5")); waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(answers[0]!.body.toString()).toBe("hello");
    expect(answers[1]!.body.toString()).toBe("Hello, world!\n");
    const cut = postern.errors.filter((line) => line.includes("/framing.php") && line.includes("more output than its Content-Length of 5"));
    expect(cut).toHaveLength(1);
    // The gateway's own finding, worded as the CGI gateway words it: not a line of the script's stderr.
    expect(cut[0]).toContain("/framing.php: answer cut short: BACKEND_MALFORMED:");
    expect(cut[0]).not.toContain("stderr:");
  });

  test("a script that runs on after its declared bytes: the next request on the connection is answered meanwhile", async () => {
    const gate = join(dir, "gate");
    try {
      const { answers } = await keepAliveExchange(port, [{ path: `/framing.php?gate=${encodeURIComponent(gate)}` }, { path: "/hello.php" }]);
      expect(answers[0]!.body.toString()).toBe("hello");
      expect(answers[1]!.body.toString()).toBe("Hello, world!\n");
      expect(existsSync(gate)).toBe(false);
    } finally {
      writeFileSync(gate, "");
    }
  }, 60_000);
});
