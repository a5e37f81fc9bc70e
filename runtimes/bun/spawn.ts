// Process spawning for Bun (Bun.spawn, posix_spawn underneath) with an
// explicit environment and Web-stream stdio.

import { kill } from "node:process";
import type { SpawnOptions, Subprocess } from "../../src/runtime.ts";
import { Bun, type BunFileSink } from "./api.ts";
import { signalExitStatus } from "../common/signals.ts";

/** Bun's stdin sink as a WritableStream: a write settles once the sink has flushed it (backpressure). */
function writable(sink: BunFileSink): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      await sink.write(chunk);
      await sink.flush();
    },
    async close() {
      await sink.end();
    },
    async abort() {
      await sink.end();
    },
  });
}

export function spawn(cmd: string[], opts: SpawnOptions): Subprocess {
  const stdio = (s: string | undefined, fallback: string) => ((s ?? fallback) === "null" ? "ignore" : (s ?? fallback)) as "pipe" | "inherit" | "ignore";
  let child: ReturnType<typeof Bun.spawn> | undefined;
  try {
    child = Bun.spawn({
      cmd,
      env: opts.env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      stdin: stdio(opts.stdin, "null"),
      stdout: stdio(opts.stdout, "pipe"),
      stderr: stdio(opts.stderr, "pipe"),
      // setsid(2): a process group of its own.
      detached: opts.group === true,
      ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
    });
  } catch {
    // It could not be started (not found, not executable): status 127 for
    // every such failure, as the Node runtime gives (a shell says 126 for
    // "not executable"; the gateways tell both apart by the file first).
  }
  const exited = child ? child.exited.then((code) => (child!.signalCode ? signalExitStatus(child!.signalCode) : code)) : Promise.resolve(127);
  return {
    pid: child?.pid ?? -1,
    stdin: child?.stdin ? writable(child.stdin) : null,
    stdout: child?.stdout ?? null,
    stderr: child?.stderr ?? null,
    exited,
    kill(signal = "SIGTERM") {
      if (!child) return;
      try {
        // The group outlives its leader while a background child remains in it.
        if (opts.group) kill(-child.pid, signal);
        else if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      } catch {
        // ESRCH: nobody left to signal.
      }
    },
  };
}
