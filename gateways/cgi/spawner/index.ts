// The native spawner (spawner.c): built with the machine's C compiler once
// per gateway process, started once, shared by every CGI route of that
// process, and started again if it ever dies.

import { GatewayError } from "../../../src/errors.ts";
import type { Duplex, Runtime, Subprocess } from "../../../src/runtime.ts";
import type { ScriptEnd, ScriptLauncher, ScriptProcess, ScriptSpec } from "../launcher.ts";
import { findProgram } from "../../program.ts";
import { encodeSpawnRequest, SpawnerEventParser, type SpawnerEvent } from "./protocol.ts";

const SOURCE = decodeURIComponent(new URL("./spawner.c", import.meta.url).pathname);
const SIGNALS = { SIGTERM: 15, SIGKILL: 9 } as const;

interface Shared {
  refs: number;
  spawner: Promise<NativeSpawner | null>;
}

// Keyed by the runtime's spawn function: copies of one runtime share a spawner.
const shared = new Map<unknown, Shared>();

/**
 * A launcher backed by the native spawner, or null (after logging why) when
 * it cannot be built here. Each call must be paired with the launcher's close().
 */
export async function nativeLauncher(runtime: Runtime, route: string): Promise<ScriptLauncher | null> {
  const key = runtime.spawn;
  let entry = shared.get(key);
  if (!entry) {
    entry = { refs: 0, spawner: NativeSpawner.build(runtime, route) };
    shared.set(key, entry);
  }
  entry.refs++;
  const spawner = await entry.spawner;
  const release = async () => {
    if (--entry.refs > 0) return;
    shared.delete(key);
    await spawner?.stop();
  };
  if (!spawner) {
    await release();
    return null;
  }
  return { launch: (spec) => spawner.launch(spec), close: release };
}

interface Waiting {
  spec: ScriptSpec;
  resolve(end: ScriptEnd): void;
}

class NativeSpawner {
  readonly #runtime: Runtime;
  readonly #dir: string;
  readonly #socket: string;
  readonly #waiting = new Map<number, Waiting>();
  #process: Promise<{ child: Subprocess; control: WritableStreamDefaultWriter<Uint8Array> }> | undefined;
  #nextId = 1;
  #stopping = false;

  private constructor(runtime: Runtime, dir: string) {
    this.#runtime = runtime;
    this.#dir = dir;
    this.#socket = `${dir}/spawner.sock`;
  }

  static async build(runtime: Runtime, route: string): Promise<NativeSpawner | null> {
    const fs = runtime.fs!;
    const cc = await findProgram(runtime, "cc", runtime.getEnv("PATH"));
    if (!cc) {
      runtime.logError(`${route}: no C compiler (cc) on PATH: scripts start with the runtime's spawn, which is slower`);
      return null;
    }
    const dir = await fs.makeTempDir("postern-cgi-");
    const compiler = runtime.spawn!([cc, "-O2", "-o", `${dir}/spawner`, SOURCE], {
      env: { PATH: runtime.getEnv("PATH") ?? "/usr/bin:/bin" },
      stdin: "null",
      stdout: "null",
      stderr: "pipe",
    });
    const [status, output] = await Promise.all([compiler.exited, new Response(compiler.stderr).text()]);
    if (status !== 0) {
      runtime.logError(`${route}: building the CGI spawner failed (${output.trim()}): scripts start with the runtime's spawn`);
      await fs.removeDir(dir);
      return null;
    }
    const spawner = new NativeSpawner(runtime, dir);
    await spawner.#start();
    return spawner;
  }

  #start(): Promise<{ child: Subprocess; control: WritableStreamDefaultWriter<Uint8Array> }> {
    this.#process ??= (async () => {
      const child = this.#runtime.spawn!([`${this.#dir}/spawner`, this.#socket], {
        env: {},
        stdin: "pipe",
        stdout: "pipe",
        stderr: "inherit",
      });
      const control = child.stdin!.getWriter();
      control.closed.catch(() => undefined);
      await new Promise<void>((resolve, reject) => void this.#readEvents(child, { resolve, reject }));
      return { child, control };
    })();
    return this.#process;
  }

  async #readEvents(child: Subprocess, ready: { resolve(): void; reject(err: Error): void }): Promise<void> {
    const parser = new SpawnerEventParser();
    const reader = child.stdout!.getReader();
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        for (const event of parser.push(r.value)) {
          if (event.kind === "ready") ready.resolve();
          else this.#dispatch(event);
        }
      }
    } catch (err) {
      this.#runtime.logError(`CGI spawner: ${(err as Error).message}`);
    }
    // The spawner is gone: its scripts were killed with it (it kills them
    // when its stdin closes; if it crashed, their ends will never be told).
    child.kill("SIGKILL");
    ready.reject(new GatewayError("INTERNAL", "the CGI spawner exited at startup"));
    this.#process = undefined;
    for (const waiting of this.#waiting.values()) waiting.resolve({ startError: "the CGI spawner exited" });
    this.#waiting.clear();
    if (!this.#stopping) this.#runtime.logError("CGI spawner exited; it is started again for the next script");
  }

  #dispatch(event: Exclude<SpawnerEvent, { kind: "ready" }>): void {
    const waiting = this.#waiting.get(event.id);
    if (!waiting) return;
    if (event.kind === "stderr") {
      waiting.spec.onStderr(event.bytes);
      return;
    }
    this.#waiting.delete(event.id);
    waiting.resolve(event.kind === "exited" ? { exitStatus: event.status } : { startError: errnoText(event.errno) });
  }

  async launch(spec: ScriptSpec): Promise<ScriptProcess> {
    const { control } = await this.#start();
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffff_ffff ? 1 : this.#nextId + 1;
    let duplex: Duplex;
    try {
      duplex = await this.#runtime.connect({ kind: "unix", path: this.#socket });
    } catch (err) {
      throw new GatewayError("INTERNAL", `CGI spawner unreachable: ${(err as Error).message}`, { cause: err });
    }
    const ended = new Promise<ScriptEnd>((resolve) => this.#waiting.set(id, { spec, resolve }));
    await duplex.write(encodeSpawnRequest({ id, maxStderr: spec.maxStderr, argv: spec.argv, env: spec.env, cwd: spec.cwd }));
    const encoder = new TextEncoder();
    let done = false;
    void ended.then(() => (done = true));
    return {
      write: (bytes) => duplex.write(bytes),
      closeInput: () => duplex.closeWrite(),
      read: () => duplex.read(),
      ended,
      signal(signal) {
        if (!done) void control.write(encoder.encode(`K ${id} ${SIGNALS[signal]}\n`)).catch(() => undefined);
      },
      close: () => duplex.close(),
    };
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    const running = await this.#process?.catch(() => undefined);
    if (running) {
      // End of stdin: the spawner kills what still runs and exits.
      await running.control.close().catch(() => undefined);
      await running.child.exited;
    }
    await this.#runtime.fs!.removeDir(this.#dir);
  }
}

/** Linux errno values posix_spawn reports, in words. */
function errnoText(errno: number): string {
  const known: Record<number, string> = {
    2: "no such file (ENOENT; a #! line naming a missing interpreter?)",
    7: "argument list too long (E2BIG)",
    8: "not an executable format (ENOEXEC; a script without a #! line?)",
    12: "out of memory (ENOMEM)",
    13: "permission denied (EACCES)",
    20: "not a directory (ENOTDIR)",
    26: "text file busy (ETXTBSY)",
    40: "too many symbolic links (ELOOP)",
  };
  return known[errno] ?? `errno ${errno}`;
}
