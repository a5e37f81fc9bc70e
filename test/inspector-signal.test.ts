// SIGUSR1 is logrotate's "reopen the logs" (nginx's USR1), but Node's
// default for it is to start the inspector on 127.0.0.1:9229, letting any
// local user run code in the process (as root, if postern runs as root).
// postern must never open it, including before a command has installed its
// own SIGUSR1 handler and in commands that install none (`postern check`).

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { processTree } from "../bench/cpu.ts";
import { spawnPostern } from "./helpers/postern-cli.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { stopProcessGroup } from "./helpers/server-process.ts";

const dir = mkdtempSync(join(tmpdir(), "postern-sigusr1-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a SIGUSR1 while postern check imports a wsgi app starts no inspector", async () => {
  // The import takes long enough for the signal to arrive during it.
  writeFileSync(join(dir, "slowapp.py"), "import time\ntime.sleep(3)\n\ndef application(environ, start_response):\n    start_response('200 OK', [])\n    return [b'']\n");
  // The workers, and the import check, run as nobody when the tests run as root.
  giveToScriptUser(dir);
  const config = join(dir, "postern.toml");
  writeFileSync(config, `[[routes]]\npath = "/*"\ngateway = "wsgi"\napp = "slowapp:application"\nchdir = ${JSON.stringify(dir)}\npython = "/usr/bin/python3"\n`);
  const { proc, log } = spawnPostern("node", ["check", "-c", config]);
  const exit = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  try {
    // Signalled once the interpreter checking the import runs: postern's own code is running by then.
    while (processTree(proc.pid!).length < 2) await new Promise((r) => setTimeout(r, 50));
    process.kill(proc.pid!, "SIGUSR1");
    expect(await exit).toBe(0);
    expect(log()).not.toContain("Debugger listening");
  } finally {
    await stopProcessGroup(proc, "SIGKILL");
  }
});
