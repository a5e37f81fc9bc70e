// N processes postern starts and keeps running, each listening on its own
// private unix socket (lighttpd's `bin-path` with `max-procs`; Gunicorn's
// workers): the sockets live in a fresh directory owned by the user the
// processes run as (src/accounts.ts), so that they can create their sockets
// there while nobody else can reach them. A process counts as serving once
// its socket accepts a connection; src/supervisor/process.ts restarts one
// that exits.
//
// Each process is a seat of a route's Upstream (src/backend/upstream.ts
// join/leave). A process is replaced without failing a request (Gunicorn's
// max_requests, uWSGI's reload-on-rss, a TTOU): the replacement starts on a
// socket of its own and joins first; once it serves, the old one leaves the
// route, finishes its requests in flight, and only then gets SIGTERM. A
// process that does not answer within the route's timeout is asked for its
// stacks (SIGUSR1: the WSGI adapter's faulthandler) and killed a second
// later (Gunicorn kills it without a word); the supervisor restarts it.

import type { Address } from "../address.ts";
import { reachableByAll } from "../reachable.ts";
import type { WorkerStats } from "../metrics/stats.ts";
import type { ProcessUser, Runtime, Subprocess } from "../runtime.ts";
import { BootError } from "./boot-error.ts";
import { waitConnectable } from "./connectable.ts";
import { ManagedProcess } from "./process.ts";
import { residentBytes } from "./rss.ts";
import { OutputLines } from "./output-lines.ts";

/** What a process's requests go through: a BackendPool. */
export interface Seat {
  setAvailable(available: boolean): void;
}

/** Where processes take and give up their seats: a route's Upstream. */
export interface Seats<S extends Seat> {
  join(address: Address): S;
  /** Resolves once the seat's requests in flight are done. */
  leave(seat: S): Promise<void>;
}

/** When a process is replaced by a fresh one; 0 turns a limit off. */
export interface Recycling {
  /** Requests a process serves before it is replaced (Gunicorn's max_requests). */
  maxRequests: number;
  /** Each process's limit is maxRequests plus a random 0..jitter (max_requests_jitter), so that they are not all replaced at once. */
  jitter: number;
  /** Resident bytes past which a process is replaced. */
  maxMemory: number;
}

export interface WorkerGroupSpec {
  /** For the log: whose processes these are (a route's name). */
  name: string;
  /** What one process is called in the log and its socket's name: "backend", "worker". */
  label: string;
  /** The program, for the log. */
  program: string;
  /** The temporary directory's name prefix. */
  dirPrefix: string;
  /** The command line of the process listening on `socket`. */
  command(socket: string): string[];
  count: number;
  env: Record<string, string>;
  cwd?: string;
  /** Who the processes run as; postern's own user when undefined. */
  user: ProcessUser | undefined;
  /**
   * A process of the first set whose first run ends before it serves fails
   * start() with a BootError carrying what it wrote to stderr, and is not
   * restarted (Gunicorn's boot error). Otherwise it is restarted with
   * back-off, as every later one is.
   */
  bootErrors?: boolean;
  /** The processes' stderr and stdout are read and written to postern's error log, each line with the route and the pid. */
  logOutput?: boolean;
  recycle?: Recycling;
  /** How long a process may take to serve after it starts (default 30 s); see bootErrors for one that does not. */
  startTimeoutMs?: number;
}

interface Worker<S extends Seat> {
  readonly id: number;
  readonly address: Address;
  readonly seat: S;
  readonly process: ManagedProcess;
  /** Requests sent to the running process, and how many it may serve. */
  served: number;
  limit: number;
  /** Being replaced, or taken away (TTOU): never chosen for it again. */
  retiring: boolean;
  /** Timed out: being killed. */
  killing: boolean;
  /** The process this one is to replace, until this one serves and that one leaves. */
  replaces: Worker<S> | undefined;
  /** Waiting for it to serve again (see restarted()). */
  upWaiters: (() => void)[];
  /** Times it came to serve: a refusal met before the last of them is not waited on. */
  ups: number;
  /** Its stderr, the first run's held until it serves where that may be a boot failure's message; and its stdout. */
  readonly stderr: OutputLines;
  readonly stdout: OutputLines;
}

const START_TIMEOUT_MS = 30_000;
/** Between SIGUSR1 (the stacks) and SIGKILL of a process that timed out. */
const DUMP_GRACE_MS = 1_000;
const MEMORY_CHECK_MS = 1_000;

export class WorkerGroup<S extends Seat> {
  readonly #runtime: Runtime;
  readonly #spec: WorkerGroupSpec;
  readonly #dir: string;
  readonly #workers: Worker<S>[] = [];
  readonly #kills = new Set<ReturnType<typeof setTimeout>>();
  #seats: Seats<S> | undefined;
  #nextId = 0;
  #memoryTimer: ReturnType<typeof setInterval> | undefined;
  #checkingMemory = false;
  #stopped = false;
  /** Restarts of the processes no longer in the group (replaced, taken away). */
  #pastRestarts = 0;

  /** Makes the processes' socket directory; start() starts them. */
  static async create<S extends Seat>(runtime: Runtime, spec: WorkerGroupSpec): Promise<WorkerGroup<S>> {
    if (!runtime.spawn || !runtime.fs) {
      throw new Error(`${spec.name}: starting processes needs a runtime that can; ${runtime.name} cannot`);
    }
    const user = spec.user;
    const dir = await runtime.fs.makeTempDir(spec.dirPrefix, user);
    if (user && user.uid !== 0 && !(await reachableByAll(runtime.fs, dir.slice(0, dir.lastIndexOf("/")) || "/"))) {
      runtime.logError(`${spec.name}: the temporary directory holding the ${spec.label}s' sockets (${dir}) may be out of reach of uid ${user.uid}, whom they run as (TMPDIR)`);
    }
    return new WorkerGroup<S>(runtime, spec, dir);
  }

  private constructor(runtime: Runtime, spec: WorkerGroupSpec, dir: string) {
    this.#runtime = runtime;
    this.#spec = spec;
    this.#dir = dir;
  }

  /**
   * Starts the processes, each joining `seats` as it is started (taking no
   * request until it serves). Resolves once every one serves; rejects with a
   * BootError when one cannot boot (see WorkerGroupSpec.bootErrors).
   */
  start(seats: Seats<S>): Promise<void> {
    this.#seats = seats;
    const started = Array.from({ length: this.#spec.count }, () => this.#add(true).up);
    if ((this.#spec.recycle?.maxMemory ?? 0) > 0) this.#memoryTimer = setInterval(() => void this.#checkMemory(), MEMORY_CHECK_MS);
    return Promise.all(started).then(() => undefined);
  }

  /** The pids of the running processes. */
  get pids(): number[] {
    return this.#workers.flatMap((w) => (w.process.child ? [w.process.child.pid] : []));
  }

  /** The processes and their restarts, those gone included (read-only, for the metrics). */
  stats(): { workers: WorkerStats[]; restarts: number } {
    const workers = this.#workers.map((w) => ({ pid: w.process.child?.pid, restarts: w.process.restarts, up: w.process.serving }));
    return { workers, restarts: workers.reduce((n, w) => n + w.restarts, this.#pastRestarts) };
  }

  /** A process started and joined; `up` resolves once it serves. */
  #add(first: boolean, replaces?: Worker<S>): { worker: Worker<S>; up: Promise<void> } {
    const spec = this.#spec;
    const id = this.#nextId++;
    const address: Address = { kind: "unix", path: `${this.#dir}/${spec.label}-${id}.sock` };
    const seat = this.#seats!.join(address);
    seat.setAvailable(false);
    let served!: () => void;
    let failed!: (err: BootError) => void;
    const up = new Promise<void>((resolve, reject) => ((served = resolve), (failed = reject)));
    const bootErrors = first && spec.bootErrors === true;
    // Its callbacks run once it has started, when `worker` below is set.
    const managed = new ManagedProcess(this.#runtime, {
      name: `${spec.name} ${spec.label} ${id} (${spec.program})`,
      cmd: spec.command(address.path),
      env: spec.env,
      cwd: spec.cwd,
      user: spec.user,
      ready: (alive) => waitConnectable(this.#runtime, address, alive, spec.startTimeoutMs ?? START_TIMEOUT_MS),
      onUp: () => {
        worker.served = 0;
        worker.limit = this.#limit();
        worker.killing = false;
        worker.stderr.release();
        worker.ups++;
        seat.setAvailable(true);
        if (worker.replaces) void this.#retire(worker.replaces);
        worker.replaces = undefined;
        for (const waiter of worker.upWaiters.splice(0)) waiter();
        served();
      },
      onDown: () => seat.setAvailable(false),
      output: spec.logOutput ? (bytes, pid, stream) => worker[stream].push(bytes, pid) : undefined,
      bootFailed: bootErrors ? (code) => failed(this.#bootError(worker, code)) : undefined,
    });
    const worker: Worker<S> = {
      id,
      address,
      seat,
      process: managed,
      served: 0,
      limit: Infinity,
      retiring: false,
      killing: false,
      replaces,
      upWaiters: [],
      ups: 0,
      stderr: new OutputLines((pid, line) => this.#log(pid, line), bootErrors),
      stdout: new OutputLines((pid, line) => this.#log(pid, line), false),
    };
    this.#workers.push(worker);
    managed.start();
    return { worker, up };
  }

  #limit(): number {
    const r = this.#spec.recycle;
    if (!r || r.maxRequests === 0) return Infinity;
    return r.maxRequests + Math.floor(Math.random() * (r.jitter + 1));
  }

  #bootError(worker: Worker<S>, code: number): BootError {
    const lines = worker.stderr.takeHeld();
    const said = lines.length > 0 ? `:\n${lines.join("\n")}` : "";
    return new BootError(`${this.#spec.name}: ${this.#spec.label} ${worker.id} (${this.#spec.program}) could not boot: exited with status ${code} before it served${said}`, code, lines);
  }

  #log(pid: number, line: string): void {
    this.#runtime.logError(`${this.#spec.name}: ${this.#spec.label} ${pid}: ${line}`);
  }

  #byAddress(address: Address): Worker<S> | undefined {
    return this.#workers.find((w) => w.address === address || (w.address.kind === "unix" && address.kind === "unix" && w.address.path === address.path));
  }

  /**
   * A connection to the process at `address`, made by `open`. One refused
   * means that the process died, and its exit may not have been seen yet
   * (the runtime reports it a moment later): it is made again once the
   * process serves again, waited for at most `ms`, unless the process is
   * being taken away; so a request that follows a crash waits for the restart
   * rather than fail. When the restart served already while the refusal
   * came back, it is made again at once.
   */
  async connect<T>(address: Address, open: () => Promise<T>, ms: number): Promise<T> {
    const ups = this.#byAddress(address)?.ups;
    try {
      return await open();
    } catch (err) {
      if ((err as Error).name === "TimeoutError" || !(await this.#restarted(address, ms, ups))) throw err;
      return open();
    }
  }

  /** Resolves true once the process at `address` serves again (after it served `ups` times), false after `ms` or when it is being taken away. */
  #restarted(address: Address, ms: number, ups: number | undefined): Promise<boolean> {
    const worker = this.#byAddress(address);
    if (!worker || worker.retiring || this.#stopped) return Promise.resolve(false);
    if (ups !== undefined && worker.ups > ups) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        worker.upWaiters.splice(worker.upWaiters.indexOf(waiter), 1);
        resolve(false);
      }, ms);
      worker.upWaiters.push(waiter);
    });
  }

  /** A request went to the process at `address`: counted toward max_requests. */
  leased(address: Address): void {
    const worker = this.#byAddress(address);
    if (!worker) return;
    worker.served++;
    if (worker.served >= worker.limit && !worker.retiring) this.#replace(worker, `served ${worker.served} requests (max_requests)`);
  }

  /**
   * The request `what` ("GET /slow") on the process at `address` passed the
   * route's timeout: its stacks are asked for, then it is killed; its other
   * requests in flight fail, and the supervisor restarts it.
   */
  timedOut(address: Address, what: string, timeoutMs: number): void {
    const worker = this.#byAddress(address);
    const child: Subprocess | undefined = worker?.process.child;
    if (!worker || !child || worker.killing) return;
    worker.killing = true;
    worker.seat.setAvailable(false);
    this.#runtime.logError(`${this.#spec.name}: ${this.#spec.label} ${child.pid} timed out on ${what} (timeout ${timeoutMs} ms): its threads' stacks follow, then it is killed`);
    child.kill("SIGUSR1");
    const kill = setTimeout(() => {
      this.#kills.delete(kill);
      child.kill("SIGKILL");
    }, DUMP_GRACE_MS);
    this.#kills.add(kill);
  }

  /** One process more, or one fewer (never fewer than one): SIGTTIN and SIGTTOU. */
  scale(delta: 1 | -1): void {
    if (this.#stopped) return;
    if (delta > 0) {
      this.#add(false);
      return;
    }
    const active = this.#workers.filter((w) => !w.retiring);
    const last = active[active.length - 1];
    if (last === undefined || active.length < 2) return;
    // A replacement not serving yet goes instead of the process it was to replace, which stays.
    if (last.replaces) last.replaces.retiring = false;
    last.replaces = undefined;
    void this.#retire(last);
  }

  /** Starts a replacement; the old one leaves once the new one serves. */
  #replace(worker: Worker<S>, why: string): void {
    if (this.#stopped) return;
    worker.retiring = true;
    this.#runtime.logError(`${this.#spec.name}: ${this.#spec.label} ${worker.process.child?.pid ?? worker.id} ${why}: replaced`);
    this.#add(false, worker);
  }

  /** Takes the process off the route; once its requests are done, SIGTERM (it finishes and exits). */
  async #retire(worker: Worker<S>): Promise<void> {
    worker.retiring = true;
    await this.#seats!.leave(worker.seat);
    await worker.process.stop();
    const i = this.#workers.indexOf(worker);
    if (i >= 0) this.#pastRestarts += this.#workers.splice(i, 1)[0]!.process.restarts;
  }

  async #checkMemory(): Promise<void> {
    const max = this.#spec.recycle?.maxMemory ?? 0;
    if (this.#checkingMemory || max === 0) return;
    this.#checkingMemory = true;
    try {
      for (const worker of this.#workers) {
        const pid = worker.process.child?.pid;
        // A replacement still booting is left alone: replacing it would leave the worker it replaces serving for good.
        if (worker.retiring || worker.replaces || pid === undefined) continue;
        const rss = await residentBytes(this.#runtime.fs!, pid);
        if (rss !== undefined && rss > max && !worker.retiring && !worker.replaces) {
          this.#replace(worker, `uses ${Math.round(rss / 1024 / 1024)} MiB, over max_worker_memory (${Math.round(max / 1024 / 1024)} MiB)`);
        }
      }
    } finally {
      this.#checkingMemory = false;
    }
  }

  /** Stops every process (TERM, then KILL) and removes the socket directory. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#memoryTimer);
    for (const kill of this.#kills) clearTimeout(kill);
    await Promise.all(this.#workers.map((w) => w.process.stop()));
    for (const kill of this.#kills) clearTimeout(kill);
    await this.#runtime.fs!.removeDir(this.#dir);
  }
}
