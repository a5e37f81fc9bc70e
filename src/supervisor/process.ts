// Backends that postern starts itself: one process kept running, restarted
// when it exits (at once after it started, with back-off when it dies while
// starting), and stopped (TERM, then KILL) on shutdown. Built on
// Runtime.spawn only, so it works wherever processes can be spawned.

import type { ProcessUser, Runtime, Subprocess } from "../runtime.ts";

export interface ManagedSpec {
  /** For the log: what this process is. */
  name: string;
  cmd: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Who it runs as (src/accounts.ts); postern's own user when undefined. */
  user?: ProcessUser;
  /** Resolves true once the process serves (for example its socket accepts); gives up when `alive()` turns false. A run given up on while alive is killed. */
  ready(alive: () => boolean): Promise<boolean>;
  /** Called when the process serves, and again after each restart. */
  onUp(): void;
  /** Called when the process has exited and until it is up again. */
  onDown(): void;
  /**
   * When set, the process's stdout and stderr are read and handed here as
   * they come (with the pid of the run), instead of going to postern's own
   * (whose stdout is the access log).
   */
  output?(bytes: Uint8Array, pid: number, stream: "stdout" | "stderr"): void;
  /**
   * When set, a first run that ends before it served, or that `ready` gave
   * up on (it is killed then), is not restarted
   * (Gunicorn's boot error, status 3): this is called with its exit status,
   * once its output has been read, and the process stays stopped.
   */
  bootFailed?(code: number): void;
}

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 10_000;
/**
 * A process that ran this long has started (supervisord's `startsecs`). When
 * a process that started, or that served (its socket accepted), exits for
 * whatever reason (a crash, the OOM killer, PHP_FCGI_MAX_REQUESTS reached),
 * it is restarted at once, however often that happens. Only one that dies
 * sooner without ever serving is crash-looping and backs off, so that a
 * broken command or config does not spin.
 */
const START_MS = 1_000;
const STOP_GRACE_MS = 5_000;
/** How long the rest of an exited process's output is waited for (a child it left may hold the pipes). */
const OUTPUT_DRAIN_MS = 1_000;

export class ManagedProcess {
  readonly #runtime: Runtime;
  readonly #spec: ManagedSpec;
  #child: Subprocess | undefined;
  #backoffMs = FIRST_BACKOFF_MS;
  #stopping = false;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #runs = 0;
  /** Between onUp and onDown: it serves. */
  #serving = false;

  constructor(runtime: Runtime, spec: ManagedSpec) {
    if (!runtime.spawn) throw new Error(`${spec.name}: this runtime (${runtime.name}) cannot start processes`);
    this.#runtime = runtime;
    this.#spec = spec;
  }

  /** The running process, if any: a signal sent through it never reaches the one that replaces it. */
  get child(): Subprocess | undefined {
    return this.#child;
  }

  /** Times it exited and was started again (read-only, for the metrics). */
  get restarts(): number {
    return Math.max(0, this.#runs - 1);
  }

  /** It serves now (read-only, for the status page). */
  get serving(): boolean {
    return this.#serving;
  }

  start(): void {
    if (this.#stopping) return;
    const spec = this.#spec;
    const started = Date.now();
    const first = this.#runs++ === 0;
    let up = false;
    let child: Subprocess;
    try {
      const output = spec.output ? "pipe" : "inherit";
      child = this.#runtime.spawn!(spec.cmd, { env: spec.env, cwd: spec.cwd, user: spec.user, stdin: "null", stdout: output, stderr: output });
    } catch (err) {
      this.#runtime.logError(`${spec.name}: cannot start ${spec.cmd[0]}: ${(err as Error).message}`);
      this.#scheduleRestart(false);
      return;
    }
    this.#child = child;
    const log = (err: unknown) => this.#runtime.logError(`${spec.name}: ${err instanceof Error ? err.message : String(err)}`);
    const read = (stream: "stdout" | "stderr") => {
      const pipe = child[stream];
      return pipe && spec.output ? pump(pipe, (bytes) => spec.output!(bytes, child.pid, stream)) : Promise.resolve();
    };
    const outputRead = Promise.all([read("stdout"), read("stderr")]);
    void child.exited
      .then(async (code) => {
        if (this.#child === child) this.#child = undefined;
        this.#serving = false;
        spec.onDown();
        if (this.#stopping) return;
        const healthy = up || Date.now() - started >= START_MS;
        if (first && !up && spec.bootFailed) {
          await Promise.race([outputRead, new Promise((resolve) => setTimeout(resolve, OUTPUT_DRAIN_MS))]);
          this.#stopping = true;
          spec.bootFailed(code);
          return;
        }
        if (!healthy || code !== 0) this.#runtime.logError(`${spec.name}: exited with status ${code}; restarting${healthy ? "" : ` in ${this.#backoffMs} ms`}`);
        this.#scheduleRestart(healthy);
      })
      .catch(log);
    void spec
      .ready(() => this.#child === child && !this.#stopping)
      .then((ready) => {
        if (this.#child !== child || this.#stopping) return;
        if (ready) {
          up = true;
          this.#serving = true;
          spec.onUp();
        } else {
          // It runs but never serves (an import that hangs): killed, then a
          // boot failure for a first run, else restarted as any that died.
          this.#runtime.logError(`${spec.name}: started but did not serve in time; killed`);
          child.kill("SIGKILL");
        }
      })
      .catch(log);
  }

  /** At once after a run that served or started; otherwise after a delay that doubles up to MAX_BACKOFF_MS. */
  #scheduleRestart(healthy: boolean): void {
    if (healthy) this.#backoffMs = FIRST_BACKOFF_MS;
    const delay = healthy ? 0 : this.#backoffMs;
    if (!healthy) this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
    this.#restartTimer = setTimeout(() => this.start(), delay);
  }

  /** TERM, then KILL after a grace period; resolves when the process is gone. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await child.exited;
    clearTimeout(killer);
  }
}

/** Reads `stream` to its end, handing each chunk on; resolves at the end (or when it fails). */
async function pump(stream: ReadableStream<Uint8Array>, chunk: (bytes: Uint8Array) => void): Promise<void> {
  const reader = stream.getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunk(r.value);
  } catch {
    // The pipe broke: nothing more to read.
  }
}
