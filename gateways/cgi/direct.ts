// Starting scripts with the runtime's own spawn: used where the native
// spawner cannot be built (no C compiler) or is turned off.

import { GatewayError } from "../../src/errors.ts";
import type { FileSystem, ProcessUser, Runtime, Subprocess } from "../../src/runtime.ts";
import type { ScriptLauncher, ScriptProcess, ScriptSpec } from "../script/launcher.ts";

/** Scripts run as `user` (src/accounts.ts), or as postern's own user when undefined. */
export function directLauncher(runtime: Runtime, user: ProcessUser | undefined): ScriptLauncher {
  const spawn = runtime.spawn;
  const fs = runtime.fs;
  if (!spawn || !fs) throw new Error(`the ${runtime.name} runtime cannot start processes`);
  return {
    async launch(spec) {
      // execve(2) refuses a file in no executable format (ENOEXEC), as the
      // native spawner does; some runtimes' spawn retries it with /bin/sh
      // (execvp's old habit), which would run any data file with an execute
      // bit as a shell script.
      if (!(await isExecutableFormat(fs, spec.argv[0]!))) {
        throw new GatewayError("BACKEND_UNREACHABLE", "script not started: not an executable format (ENOEXEC; a script without a #! line?)");
      }
      // A group of its own: a timeout or an abort reaches what the script started.
      const child = spawn(spec.argv, { env: spec.env, cwd: spec.cwd, stdin: "pipe", stdout: "pipe", stderr: "pipe", group: true, user });
      return new DirectScript(child, spec);
    },
    close: async () => undefined,
  };
}

class DirectScript implements ScriptProcess {
  readonly ended: Promise<{ exitStatus: number }>;
  readonly #child: Subprocess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stdout: ReadableStreamDefaultReader<Uint8Array>;
  #exited = false;

  constructor(child: Subprocess, spec: ScriptSpec) {
    this.#child = child;
    this.#stdin = child.stdin!.getWriter();
    this.#stdin.closed.catch(() => undefined);
    this.#stdout = child.stdout!.getReader();
    const stderr = child.stderr!.getReader();
    const stderrDone = drainStderr(stderr, spec);
    this.ended = child.exited.then(async (exitStatus) => {
      this.#exited = true;
      // What the script left running in its group must not outlive it.
      child.kill("SIGKILL");
      // A process that left the group (setsid) may hold stderr open: what
      // the script itself wrote is in the pipe already.
      const late = setTimeout(() => void stderr.cancel().catch(() => undefined), STDERR_GRACE_MS);
      await stderrDone;
      clearTimeout(late);
      return { exitStatus };
    });
  }

  async write(bytes: Uint8Array): Promise<void> {
    await this.#stdin.ready;
    await this.#stdin.write(bytes);
  }

  async closeInput(): Promise<void> {
    await this.#stdin.close().catch(() => undefined);
  }

  async read(): Promise<Uint8Array | null> {
    const { value, done } = await this.#stdout.read();
    return done ? null : value;
  }

  signal(signal: "SIGTERM" | "SIGKILL"): void {
    // Once reaped, its pid (and so its group's id) may be another process's.
    if (!this.#exited) this.#child.kill(signal);
  }

  close(): void {
    void this.#stdout.cancel().catch(() => undefined);
    void this.#stdin.abort().catch(() => undefined);
  }
}

/** After a script exits, how long its stderr may stay open before it is no longer read. */
const STDERR_GRACE_MS = 100;

// "#!" (a script), ELF, Mach-O (32/64-bit, either byte order, universal).
const MAGIC = ["#!", "\x7fELF", "\xfe\xed\xfa\xce", "\xfe\xed\xfa\xcf", "\xce\xfa\xed\xfe", "\xcf\xfa\xed\xfe", "\xca\xfe\xba\xbe"];

async function isExecutableFormat(fs: FileSystem, path: string): Promise<boolean> {
  const reader = fs.readStream(path, { start: 0, end: 3 }).getReader();
  let head = "";
  try {
    for (let r = await reader.read(); !r.done && head.length < 4; r = await reader.read()) {
      head += String.fromCharCode(...r.value);
    }
  } catch {
    return false;
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  return MAGIC.some((magic) => head.startsWith(magic));
}

async function drainStderr(reader: ReadableStreamDefaultReader<Uint8Array>, spec: ScriptSpec): Promise<void> {
  let left = spec.maxStderr;
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      const chunk = r.value;
      if (left <= 0) continue;
      const kept = chunk.byteLength <= left ? chunk : chunk.subarray(0, left);
      left -= kept.byteLength;
      spec.onStderr(kept);
    }
  } catch {
    // The pipe broke with the process: nothing more to log.
  }
}
