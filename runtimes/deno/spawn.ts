// Process spawning for Deno (Deno.Command) with an explicit environment
// (nothing of the host leaks in: clearEnv) and Web-stream stdio.

import type { SpawnOptions, Subprocess } from "../../src/runtime.ts";
import { Deno } from "./api.ts";
import { signalExitStatus } from "../common/signals.ts";

export function spawn(cmd: string[], opts: SpawnOptions): Subprocess {
  const [file, ...args] = cmd;
  if (file === undefined) throw new Error("spawn needs a command");
  const stdio = (s: string | undefined, fallback: string) => ((s ?? fallback) === "pipe" ? "piped" : (s ?? fallback)) as "piped" | "inherit" | "null";
  let child: ReturnType<InstanceType<typeof Deno.Command>["spawn"]> | undefined;
  let exited: Promise<number>;
  try {
    child = new Deno.Command(file, {
      args,
      env: opts.env,
      clearEnv: true,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      stdin: stdio(opts.stdin, "null"),
      stdout: stdio(opts.stdout, "pipe"),
      stderr: stdio(opts.stderr, "pipe"),
      // setsid(2): a process group of its own.
      detached: opts.group === true,
      ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
    }).spawn();
    exited = child.status.then((s) => (s.signal ? signalExitStatus(s.signal) : s.code));
  } catch {
    // It could not be started (not found, not executable): status 127 for
    // every such failure, as the Node runtime gives (a shell says 126 for
    // "not executable"; the gateways tell both apart by the file first).
    exited = Promise.resolve(127);
  }
  const piped = <T>(mode: string | undefined, fallback: string, stream: () => T): T | null =>
    child && (mode ?? fallback) === "pipe" ? stream() : null;
  let ended = false;
  void exited.then(() => (ended = true));
  return {
    pid: child?.pid ?? -1,
    stdin: piped(opts.stdin, "null", () => child!.stdin),
    stdout: piped(opts.stdout, "pipe", () => child!.stdout),
    stderr: piped(opts.stderr, "pipe", () => child!.stderr),
    exited,
    kill(signal = "SIGTERM") {
      if (!child) return;
      try {
        // The group outlives its leader while a background child remains in it.
        if (opts.group) Deno.kill(-child.pid, signal);
        else if (!ended) child.kill(signal);
      } catch {
        // ESRCH: nobody left to signal.
      }
    },
  };
}
