// Compression of a real php-fpm's streamed answer: a script that sends part
// of its page, flush()es and waits, reaches the client compressed before
// the script has finished; the whole decodes, with Debian's tools, to what
// the script wrote.

import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { decode, decodeStart, getInTwoParts } from "./helpers/compress-site.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const tools = ["brotli", "gzip"].every((tool) => requireBinary([tool], tool) !== undefined);

// Output buffers off, then each part flushed to php-fpm; the rest waits for the test's "go" file.
const SCRIPT = `<?php
while (ob_get_level() > 0) ob_end_flush();
header("Content-Type: text/html; charset=utf-8");
for ($i = 0; $i < 50; $i++) echo "<p>first part $i</p>\\n";
flush();
while (!file_exists(__DIR__ . "/go")) usleep(50000);
echo "<p>second part</p>\\n";
`;
const FIRST = Array.from({ length: 50 }, (_, i) => `<p>first part ${i}</p>\n`).join("");

describe.runIf(PHP_FPM && tools)("php-fpm", () => {
  let fpm: PhpFpm;
  let postern: RunningPostern;
  let root: string;
  beforeAll(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), "postern-compress-php-")));
    writeFileSync(join(root, "stream.php"), SCRIPT);
    fpm = await startPhpFpm(PHP_FPM!, { ini: { output_buffering: "0" } });
    postern = await startPostern(`compress = ["br", "gzip"]\n[[routes]]\npath = "*"\ngateway = "fastcgi"\nbackend = "unix:${fpm.socket}"\nroot = "${root}"\n`);
  });
  afterAll(async () => {
    await postern?.stop();
    await fpm?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test.each(["br", "gzip"])("a flushed part arrives as %s before the script ends", async (encoding) => {
    rmSync(join(root, "go"), { force: true });
    const answer = await getInTwoParts(
      `${postern.url}/stream.php`,
      { "accept-encoding": encoding },
      (first) => decodeStart(encoding, first).includes("<p>first part 49</p>\n"),
      () => writeFileSync(join(root, "go"), ""),
    );
    expect(answer.headers["content-encoding"]).toBe(encoding);
    expect(decodeStart(encoding, answer.first)).toBe(FIRST);
    expect(decode(encoding, answer.body)).toBe(`${FIRST}<p>second part</p>\n`);
  });
});
