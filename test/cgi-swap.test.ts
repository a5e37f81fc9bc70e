// A directory inside a CGI root (or a script itself) swapped for a symlink
// to one outside it, between the lookup of a script and its start: the
// lookup is cached for a second (src/file-cache.ts), so the start must not
// trust the path it was given. The native spawner opens the script's
// directory beneath the root without following a symlink and refuses a
// script that is a symlink (confine.c); the runtime's own spawn cannot, and
// docs/gateways/cgi.md says so.

import { renameSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { makeCgiTree, type CgiTree } from "./helpers/cgi-fixtures.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

const PERL = requireBinary(["perl"], "perl");
const CC = requireBinary(["cc"], "gcc");

const say = (what: string) => `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n${what}\\n'\n`;
const sayPerl = (what: string) => `print "Content-Type: text/plain\\r\\n\\r\\n${what}\\n";\n`;

describe.skipIf(!PERL || !CC)("a directory swapped for a symlink after the lookup (native spawner)", () => {
  let tree: CgiTree;
  let postern: RunningPostern;

  beforeAll(async () => {
    tree = makeCgiTree([
      { path: "www/exe/run.sh", text: say("inside"), mode: 0o755 },
      { path: "www/interpreted/run.pl", text: sayPerl("inside"), mode: 0o644 },
      { path: "outside/exe/run.sh", text: say("OUTSIDE"), mode: 0o755 },
      { path: "outside/interpreted/run.pl", text: sayPerl("OUTSIDE"), mode: 0o644 },
      { path: "www/real/run.sh", text: say("through an inside link"), mode: 0o755 },
      { path: "www/alias", symlink: "real" },
      { path: "www/file/run.sh", text: say("inside"), mode: 0o755 },
      { path: "outside/file.sh", text: say("OUTSIDE"), mode: 0o755 },
    ]);
    postern = await startPostern(`
[[routes]]
path = "/*"
gateway = "cgi"
root = "${tree.root}"
interpreters = { ".pl" = "${PERL}" }
`);
    expect(postern.errors.filter((line) => /spawner|C compiler/.test(line))).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    await postern?.stop();
    tree?.remove();
  });

  test.each([
    ["an executable script", "exe", "run.sh"],
    ["a script run by its interpreter", "interpreted", "run.pl"],
  ])("%s: the swap fails the start instead of running what is outside", async (_, dir, script) => {
    const path = `/${dir}/${script}`;
    const first = await fetch(`${postern.url}${path}`);
    expect(await first.text()).toBe("inside\n");
    // The swap, within the second the lookup stays cached.
    renameSync(join(tree.root, dir), join(tree.root, `${dir}-before`));
    symlinkSync(`../outside/${dir}`, join(tree.root, dir));
    const second = await fetch(`${postern.url}${path}`);
    const text = await second.text();
    expect(text).not.toContain("OUTSIDE");
    // 502 while the lookup is cached (the spawner refused: ELOOP), 403 after.
    expect([403, 502]).toContain(second.status);
  });

  test("the script itself swapped for a symlink to a file outside fails the start", async () => {
    const first = await fetch(`${postern.url}/file/run.sh`);
    expect(await first.text()).toBe("inside\n");
    renameSync(join(tree.root, "file/run.sh"), join(tree.root, "file/run.sh-before"));
    symlinkSync(join(tree.dir, "outside/file.sh"), join(tree.root, "file/run.sh"));
    const second = await fetch(`${postern.url}/file/run.sh`);
    expect(await second.text()).not.toContain("OUTSIDE");
    expect([403, 502]).toContain(second.status);
  });

  test("a symlink inside the root that stays inside still runs its script", async () => {
    const res = await fetch(`${postern.url}/alias/run.sh`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("through an inside link\n");
  });
});
