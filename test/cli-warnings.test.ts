// postern serve says at startup what postern check warns about (a key
// written by its old name, a static root sharing a script route's files, a
// trusted_proxies block of every address), at the key's line, as nginx
// prints its warnings when it starts; the config still serves.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { freePort } from "./helpers/ports.ts";
import { startPostern, stopPostern, type Served } from "./helpers/postern-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "postern-warnings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("serve prints the config's warnings at their lines, then serves", async () => {
  const config = join(dir, "postern.toml");
  const port = await freePort();
  writeFileSync(
    config,
    [
      `listen = ["127.0.0.1:${port}"]`,
      "[[routes]]",
      'path = "/php/*"',
      'gateway = "fastcgi"',
      `backend = "127.0.0.1:${await freePort()}"`,
      `root = ${JSON.stringify(dir)}`,
      'env = { APP_ENV = "test" }',
      "",
    ].join("\n"),
  );
  let served: Served | undefined;
  try {
    served = await startPostern(["serve", "-c", config]);
    expect(served.stderr()).toContain(`postern: ${config}:7: warning: routes[0].env: the old name of \`params\``);
    expect((await fetch(`${served.url}/none`)).status).toBe(404);
  } finally {
    await stopPostern(served);
  }
});
