// X-Sendfile and a directory swapped for a symlink between the check of the
// named file's real path and its open (CWE-367): the file sent must be the
// one whose real path lies in `x_sendfile.allow` once it is open. The swap
// is made by the file system's own calls at the moment of the open, on the
// real disk, since no backend can time one there.

import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { withSendfile } from "../src/cgi/sendfile.ts";
import { Sendfile } from "../gateways/sendfile.ts";
import { fs as nodeFs } from "../runtimes/node/fs.ts";
import type { Runtime } from "../src/runtime.ts";

const dir = mkdtempSync(join(tmpdir(), "postern-sendfile-race-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a directory swapped for a symlink out of allow as the file is opened: 502, the file outside is not sent", async () => {
  mkdirSync(join(dir, "files/sub"), { recursive: true });
  mkdirSync(join(dir, "secret"));
  writeFileSync(join(dir, "files/sub/report.txt"), "public");
  writeFileSync(join(dir, "secret/report.txt"), "secret");
  let swapped = false;
  const fs = {
    ...nodeFs,
    openRead: (path: string) => {
      if (!swapped) {
        swapped = true;
        renameSync(join(dir, "files/sub"), join(dir, "files/sub.old"));
        symlinkSync(join(dir, "secret"), join(dir, "files/sub"));
      }
      return nodeFs.openRead(path);
    },
  };
  const errors: string[] = [];
  const runtime = { fs, logError: (line: string) => errors.push(line) } as unknown as Runtime;
  const sendfile = new Sendfile(runtime, { allow: [join(dir, "files")] }, "route /dl/*");
  const asked = withSendfile(new Response("ignored"), { field: "X-Sendfile", value: join(dir, "files/sub/report.txt") });
  const answer = await sendfile.answer(new Request("http://localhost/dl/report"), asked);
  const body = await answer.text();
  expect(swapped).toBe(true);
  expect(body).not.toContain("secret");
  expect(answer.status).toBe(502);
  expect(errors.join("\n")).toContain("not in x_sendfile.allow");
});
