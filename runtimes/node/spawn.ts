// Process spawning for Node: child_process.spawn with an explicit
// environment (nothing of the host leaks in) and Web-stream stdio.

import { spawn as nodeSpawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { constants } from "node:os";
import type { SpawnOptions, Subprocess } from "../../src/runtime.ts";

export function spawn(cmd: string[], opts: SpawnOptions): Subprocess {
  const [file, ...args] = cmd;
  if (file === undefined) throw new Error("spawn needs a command");
  const child = nodeSpawn(file, args, {
    env: opts.env,
    cwd: opts.cwd,
    stdio: [opts.stdin ?? "null", opts.stdout ?? "pipe", opts.stderr ?? "pipe"].map((s) =>
      s === "null" ? "ignore" : s,
    ) as ("pipe" | "ignore" | "inherit")[],
    detached: opts.group === true,
    // libuv clears the supplementary groups (setgroups(0)) when it sets them.
    ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
  });
  const exited = new Promise<number>((resolve) => {
    child.once("error", () => resolve(127));
    child.once("exit", (code, signal) => {
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
  return {
    get pid() {
      return child.pid ?? -1;
    },
    stdin: child.stdin ? (Writable.toWeb(child.stdin) as WritableStream<Uint8Array>) : null,
    stdout: child.stdout ? (Readable.toWeb(child.stdout) as ReadableStream<Uint8Array>) : null,
    stderr: child.stderr ? (Readable.toWeb(child.stderr) as ReadableStream<Uint8Array>) : null,
    exited,
    kill(signal = "SIGTERM") {
      if (child.pid === undefined) return;
      if (opts.group) {
        // The group outlives its leader while a background child remains in it.
        try {
          process.kill(-child.pid, signal);
        } catch {
          // ESRCH: nobody left in the group.
        }
      } else if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
      }
    },
  };
}
