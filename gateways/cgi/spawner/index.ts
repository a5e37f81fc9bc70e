// The native spawner (spawner.c): built with the machine's C compiler once
// per gateway process and user scripts run as, started once, shared by every
// CGI route of that process whose scripts run as that user, and started
// again if it ever dies. Every script's stdin, stdout and stderr travel as
// frames over one connection to it, with flow control on stdout (a window
// per script) and on stdin (one frame in flight).

import { GatewayError } from "../../../src/errors.ts";
import { concatBytes } from "../../../src/io/bytes.ts";
import type { Duplex, ProcessUser, Runtime, Subprocess } from "../../../src/runtime.ts";
import { findProgram } from "../../program.ts";
import type { ScriptEnd, ScriptLauncher, ScriptProcess, ScriptSpec } from "../../script/launcher.ts";
import { OutputQueue } from "../../script/output.ts";
import { encodeControl, encodeInput, encodeStart, SpawnerFrameParser, startRequest, type ControlType, type SpawnerFrame } from "./protocol.ts";

/** The helper's C sources, found when it is built: a Worker bundle (workerd) has no import.meta.url to find them from. */
const spawnerSources = () => ["./spawner.c", "./confine.c"].map((file) => decodeURIComponent(new URL(file, import.meta.url).pathname));
const SIGNALS = { SIGTERM: 15, SIGKILL: 9 } as const;
/** Stdout bytes a script may have in flight to the gateway, unread: the memory bound per script. */
const WINDOW = 64 * 1024;
/** Largest stdin frame. */
const INPUT_FRAME = 64 * 1024;
/** The spawner refuses larger frames (spawner.c MAX_FRAME); a start frame is checked here first. */
const MAX_FRAME = 1024 * 1024;
/** After its connection ends, how long the spawner has to kill its scripts and exit before it is killed. */
const EXIT_GRACE_MS = 1_000;

interface Shared {
  refs: number;
  spawner: Promise<NativeSpawner | null>;
}

// Keyed by the runtime's spawn function (copies of one runtime share a
// spawner) and by the user scripts run as: one spawner per user, as it drops
// to that user itself (spawner.c).
const shared = new Map<unknown, Map<string, Shared>>();

/**
 * A launcher backed by the native spawner, or null (after logging why) when
 * it cannot be built here. Scripts run as `user`, or as postern's own user
 * when undefined. Each call must be paired with the launcher's close().
 */
export async function nativeLauncher(runtime: Runtime, route: string, user: ProcessUser | undefined): Promise<ScriptLauncher | null> {
  const byUser = shared.get(runtime.spawn) ?? new Map<string, Shared>();
  shared.set(runtime.spawn, byUser);
  const key = user ? `${user.uid}:${user.gid}` : "";
  let entry = byUser.get(key);
  if (!entry) {
    entry = { refs: 0, spawner: NativeSpawner.build(runtime, route, user) };
    byUser.set(key, entry);
  }
  const held = entry;
  held.refs++;
  const spawner = await held.spawner;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    if (--held.refs > 0) return;
    if (byUser.get(key) === held) byUser.delete(key);
    await spawner?.stop();
  };
  if (!spawner) {
    await release();
    return null;
  }
  return { launch: (spec) => spawner.launch(spec), close: release };
}

class NativeSpawner {
  readonly #runtime: Runtime;
  readonly #dir: string;
  readonly #user: ProcessUser | undefined;
  #current: Promise<SpawnerProcess> | undefined;
  #starts = 0;
  #stopping = false;

  private constructor(runtime: Runtime, dir: string, user: ProcessUser | undefined) {
    this.#runtime = runtime;
    this.#dir = dir;
    this.#user = user;
  }

  static async build(runtime: Runtime, route: string, user: ProcessUser | undefined): Promise<NativeSpawner | null> {
    const fs = runtime.fs!;
    const cc = await findProgram(runtime, "cc", runtime.getEnv("PATH"));
    if (!cc) {
      runtime.logError(`${route}: no C compiler (cc) on PATH: scripts start with the runtime's spawn, which is slower`);
      return null;
    }
    const dir = await fs.makeTempDir("postern-cgi-");
    const compiler = runtime.spawn!([cc, "-O2", "-o", `${dir}/spawner`, ...spawnerSources()], {
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
    const spawner = new NativeSpawner(runtime, dir, user);
    try {
      await spawner.#process();
    } catch (err) {
      runtime.logError(`${route}: the CGI spawner did not start (${(err as Error).message}): scripts start with the runtime's spawn`);
      await spawner.stop();
      return null;
    }
    return spawner;
  }

  /** The running spawner process, started if there is none. */
  #process(): Promise<SpawnerProcess> {
    if (!this.#current) {
      const current = SpawnerProcess.start(this.#runtime, this.#dir, this.#user, ++this.#starts, () => {
        if (this.#current === current) this.#current = undefined;
        if (!this.#stopping) this.#runtime.logError("CGI spawner exited; it is started again for the next script");
      });
      current.catch(() => {
        if (this.#current === current) this.#current = undefined;
      });
      this.#current = current;
    }
    return this.#current;
  }

  async launch(spec: ScriptSpec): Promise<ScriptProcess> {
    if (this.#stopping) throw new GatewayError("BACKEND_OVERLOADED", "route closed", { retryAfter: 1 });
    let process = await this.#process();
    // It may have died between its start and now: then once more.
    if (process.lost) process = await this.#process();
    return process.launch(spec);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    const process = await this.#current?.catch(() => undefined);
    await process?.stop();
    await this.#runtime.fs!.removeDir(this.#dir);
  }
}

/** One run of the spawner: its process, its connection, and the scripts it carries. */
class SpawnerProcess {
  readonly #child: Subprocess;
  readonly #conn: Duplex;
  readonly #scripts = new Map<number, RelayedScript>();
  readonly #onLost: () => void;
  #outbox: Uint8Array[] = [];
  #nextId = 1;
  lost = false;

  private constructor(child: Subprocess, conn: Duplex, onLost: () => void) {
    this.#child = child;
    this.#conn = conn;
    this.#onLost = onLost;
    void this.#readFrames();
  }

  static async start(runtime: Runtime, dir: string, user: ProcessUser | undefined, run: number, onLost: () => void): Promise<SpawnerProcess> {
    // A fresh socket for each start: a dead spawner's socket file stays behind.
    const socket = `${dir}/spawner-${run}.sock`;
    // It binds its socket in postern's private directory first, then drops to the user.
    const drop = user ? [String(user.uid), String(user.gid)] : [];
    const child = runtime.spawn!([`${dir}/spawner`, socket, ...drop], { env: {}, stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    try {
      // It says "R" once it listens; its stdin stays open for its lifetime,
      // and its end tells it that the gateway is gone.
      const stdout = child.stdout!.getReader();
      const said = await stdout.read();
      void stdout.cancel().catch(() => undefined);
      if (said.value?.[0] !== 0x52) throw new GatewayError("INTERNAL", "the CGI spawner did not start");
      return new SpawnerProcess(child, await runtime.connect({ kind: "unix", path: socket }), onLost);
    } catch (err) {
      child.kill("SIGKILL");
      throw err;
    }
  }

  async #readFrames(): Promise<void> {
    const parser = new SpawnerFrameParser();
    try {
      for (let chunk = await this.#conn.read(); chunk !== null; chunk = await this.#conn.read()) {
        parser.push(chunk, (frame) => {
          const script = this.#scripts.get(frame.id);
          if (script?.receive(frame)) this.#scripts.delete(frame.id);
        });
      }
    } catch {
      // A broken connection: the spawner is as good as gone.
    }
    this.lost = true;
    await this.stop();
    for (const script of this.#scripts.values()) script.lost();
    this.#scripts.clear();
    this.#onLost();
  }

  /** Queues a frame; frames queued in one turn go out in one write. */
  send(frame: Uint8Array): void {
    if (this.lost) return;
    this.#outbox.push(frame);
    if (this.#outbox.length === 1) queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    const frames = this.#outbox;
    this.#outbox = [];
    if (!this.lost) this.#conn.write(concatBytes(frames)).catch(() => undefined);
  }

  launch(spec: ScriptSpec): ScriptProcess {
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffff_ffff ? 1 : this.#nextId + 1;
    const start = encodeStart(startRequest(id, spec));
    if (start.byteLength > MAX_FRAME) {
      throw new GatewayError("INTERNAL", `a script's arguments and environment take ${start.byteLength} bytes, over ${MAX_FRAME}`);
    }
    const script = new RelayedScript(this, id, spec);
    this.#scripts.set(id, script);
    this.send(start);
    this.send(encodeControl("W", id, WINDOW));
    return script;
  }

  /** Ends the connection: the spawner kills what still runs and exits; it is killed if it does not. */
  async stop(): Promise<void> {
    this.#conn.close();
    const late = setTimeout(() => this.#child.kill("SIGKILL"), EXIT_GRACE_MS);
    await this.#child.exited;
    clearTimeout(late);
  }
}

/** One script as the spawner relays it. */
class RelayedScript implements ScriptProcess {
  readonly ended: Promise<ScriptEnd>;
  readonly #spawner: SpawnerProcess;
  readonly #id: number;
  readonly #spec: ScriptSpec;
  readonly #output: OutputQueue;
  #resolveEnd!: (end: ScriptEnd) => void;
  #exited = false;
  #acked: (() => void) | undefined;

  constructor(spawner: SpawnerProcess, id: number, spec: ScriptSpec) {
    this.#spawner = spawner;
    this.#id = id;
    this.#spec = spec;
    // Each chunk taken lets the spawner read as much more of the script's stdout.
    this.#output = new OutputQueue((bytes) => this.#control("W", bytes));
    this.ended = new Promise((resolve) => (this.#resolveEnd = resolve));
  }

  /** Takes a frame for this script; true once nothing more will come for it. */
  receive(frame: SpawnerFrame): boolean {
    switch (frame.type) {
      case "O":
        this.#output.push(frame.payload);
        break;
      case "Z":
        this.#output.push(null);
        break;
      case "E":
        this.#spec.onStderr(frame.payload);
        break;
      case "A":
        this.#ack();
        break;
      case "X":
        this.#end({ exitStatus: frame.n });
        break;
      case "F":
        this.#end({ startError: errnoText(frame.n) });
        this.#output.push(null);
        break;
    }
    return this.#exited && this.#output.ended;
  }

  /** The spawner went away with this script: what is still to be read fails. */
  lost(): void {
    this.#end({ startError: "the CGI spawner exited" });
    this.#output.fail(new GatewayError("BACKEND_UNREACHABLE", "the CGI spawner exited during the script's output"));
  }

  #end(end: ScriptEnd): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#resolveEnd(end);
    // A script that has ended reads no more input: an ack still due will not come.
    this.#ack();
  }

  #ack(): void {
    const acked = this.#acked;
    this.#acked = undefined;
    acked?.();
  }

  #control(type: ControlType, n = 0): void {
    this.#spawner.send(encodeControl(type, this.#id, n));
  }

  async write(bytes: Uint8Array): Promise<void> {
    for (let offset = 0; offset < bytes.byteLength && !this.#exited; offset += INPUT_FRAME) {
      const acked = new Promise<void>((resolve) => (this.#acked = resolve));
      this.#spawner.send(encodeInput(this.#id, bytes.subarray(offset, offset + INPUT_FRAME)));
      await acked;
    }
  }

  async closeInput(): Promise<void> {
    if (!this.#exited) this.#control("C");
  }

  read(): Promise<Uint8Array | null> {
    return this.#output.read();
  }

  signal(signal: "SIGTERM" | "SIGKILL"): void {
    if (!this.#exited) this.#control("K", SIGNALS[signal]);
  }

  close(): void {
    if (this.#output.ended) return;
    this.#control("D");
    this.#output.drop();
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
