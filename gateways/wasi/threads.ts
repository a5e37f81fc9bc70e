// The worker threads a WASI route runs its module in: each runs one request
// at a time, so a module that computes for long never blocks the gateway,
// and one that runs past its deadline is stopped by ending its thread (a new
// one takes its place).

import { GatewayError } from "../../src/errors.ts";
import type { ThreadStats } from "../../src/metrics/stats.ts";
import type { Runtime, WorkerThread } from "../../src/runtime.ts";
import type { ScriptEnd, ScriptLauncher, ScriptProcess, ScriptSpec } from "../script/launcher.ts";
import { OutputQueue } from "../script/output.ts";
import { encodeStrings } from "./host.ts";
import type { ModuleSetup } from "./instance.ts";
import { CHUNK, Control, CONTROL_BYTES, Held, JOB_BYTES, type FromWorker, type ThreadSetup } from "./messages.ts";

/**
 * The worker module's URL, made when threads start: a Worker bundle (workerd)
 * has no import.meta.url to make it from. Beside the sources it is
 * worker.ts, in the built package worker.js.
 */
const workerUrl = () => new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url);
/** How often the main thread takes a write a module holds back while it computes on. */
const CLAIM_EVERY_MS = 5;

export interface ThreadOptions extends ModuleSetup {
  threads: number;
  /** Bytes of stdout a run may write; beyond it the module is stopped. */
  maxOutput: number;
}

/** The memory a thread and the main thread share (see messages.ts); each thread has its own. */
interface SharedBuffers {
  control: SharedArrayBuffer;
  stdin: SharedArrayBuffer;
  job: SharedArrayBuffer;
  held: SharedArrayBuffer;
}

/** A thread and the request it runs, if any. */
class Slot {
  thread!: WorkerThread;
  shared!: SharedBuffers;
  job: WasiRun | undefined;
  readonly #start: (shared: SharedBuffers) => WorkerThread;
  readonly #log: (line: string) => void;
  #closed = false;
  /** Threads that ended on their own in a row, for the back-off before the next. */
  #failures = 0;
  /** False from a thread's death to its successor's start (a back-off): no request may be handed to it. */
  #alive = true;

  constructor(start: (shared: SharedBuffers) => WorkerThread, log: (line: string) => void) {
    this.#start = start;
    this.#log = log;
    this.#open();
  }

  /**
   * A new thread with buffers of its own: a thread being ended may still
   * wake on its old buffers, and must find nothing there for it.
   */
  #open(): void {
    const shared = {
      control: new SharedArrayBuffer(CONTROL_BYTES),
      stdin: new SharedArrayBuffer(CHUNK),
      job: new SharedArrayBuffer(JOB_BYTES),
      held: new SharedArrayBuffer(CHUNK),
    };
    const thread = this.#start(shared);
    // Only the current thread speaks for the slot: an ended one's last words
    // (its run stopped) must not reach the request that came after.
    thread.onMessage((message) => {
      if (this.thread === thread) this.job?.receive(message as FromWorker);
    });
    const started = Date.now();
    thread.onExit((error) => {
      if (this.thread !== thread || this.#closed) return;
      // A thread that ends on its own failed; the next request gets a new
      // one, after a back-off when they keep failing at start.
      const reason = error?.message ?? "its thread ended";
      this.#alive = false;
      this.job?.lost(reason);
      this.#failures = Date.now() - started < 1_000 ? this.#failures + 1 : 0;
      this.#log(`WASI thread ended: ${reason}`);
      const delay = Math.min(100 * 2 ** this.#failures, 10_000);
      setTimeout(() => {
        if (!this.#closed && this.thread === thread) this.#open();
      }, this.#failures > 1 ? delay : 0);
    });
    this.thread = thread;
    this.shared = shared;
    this.#alive = true;
  }

  /** Whether a request may be handed to the slot now: no run in it, and its thread not being replaced. */
  get free(): boolean {
    return this.job === undefined && this.#alive;
  }

  /** Ends the thread (mid-computation if need be) and starts another. */
  replace(): void {
    const old = this.thread;
    this.#open();
    void old.terminate();
  }

  /** Ends the thread for good. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.thread.terminate();
  }
}

export class WasiThreads implements ScriptLauncher {
  readonly #slots: Slot[];
  /** One timer for all the route's runs: a timer per run cost a tenth of the throughput. */
  readonly #claims: ReturnType<typeof setInterval>;

  constructor(runtime: Runtime, options: ThreadOptions) {
    const startWorker = runtime.startWorker;
    if (!startWorker) throw new Error(`the ${runtime.name} runtime has no threads to run WebAssembly modules in`);
    const url = workerUrl();
    const start = (shared: SharedBuffers) => {
      const thread = startWorker(url);
      const { threads: _, ...setup } = options;
      thread.postMessage({ ...setup, ...shared } satisfies ThreadSetup);
      return thread;
    };
    this.#slots = Array.from({ length: options.threads }, () => new Slot(start, (line) => runtime.logError(line)));
    this.#claims = setInterval(() => {
      for (const slot of this.#slots) slot.job?.claim();
    }, CLAIM_EVERY_MS);
  }

  /**
   * Callers hold one of `threads` slots (the gateway's limiter), so a slot has
   * no run; its thread may still be waiting out a back-off after a failure.
   */
  async launch(spec: ScriptSpec): Promise<ScriptProcess> {
    const slot = this.#slots.find((s) => s.free);
    if (!slot) throw new GatewayError("BACKEND_OVERLOADED", "no free WASI thread (one is being restarted)", { retryAfter: 1 });
    const control = new Int32Array(slot.shared.control);
    const { length, argc, envc } = encodeStrings(spec.argv, spec.env, new Uint8Array(slot.shared.job));
    const job = new WasiRun(slot, spec);
    slot.job = job;
    void job.ended.then(() => {
      if (slot.job === job) slot.job = undefined;
    });
    control[Control.CREDIT] = CHUNK;
    control[Control.STDIN_LEN] = 0;
    control[Control.STOP] = 0;
    control[Control.HELD] = Held.NONE;
    control[Control.POSTED] = 0;
    control[Control.JOB_LENGTH] = length;
    control[Control.JOB_ARGC] = argc;
    control[Control.JOB_ENVC] = envc;
    control[Control.JOB_STDERR] = Math.min(spec.maxStderr, 0x7fff_ffff);
    // The thread waits on JOB_SEQ for its next request.
    Atomics.add(control, Control.JOB_SEQ, 1);
    Atomics.notify(control, Control.JOB_SEQ);
    return job;
  }

  /** What each thread is doing now (read-only, for the metrics). */
  stats(): ThreadStats {
    const busy = this.#slots.filter((s) => s.job !== undefined).length;
    const idle = this.#slots.filter((s) => s.free).length;
    return { busy, idle, restarting: this.#slots.length - busy - idle };
  }

  async close(): Promise<void> {
    clearInterval(this.#claims);
    await Promise.all(this.#slots.map((slot) => slot.close()));
  }
}

/** One request's run of the module, as the CGI exchange sees a process. */
class WasiRun implements ScriptProcess {
  readonly ended: Promise<ScriptEnd>;
  readonly #slot: Slot;
  readonly #spec: ScriptSpec;
  readonly #control: Int32Array;
  readonly #stdin: Uint8Array;
  readonly #held: Uint8Array;
  readonly #output: OutputQueue;
  #resolveEnd!: (end: ScriptEnd) => void;
  #done = false;
  /** Body bytes waiting for the module to ask, each with the write that gave them. */
  #input: { bytes: Uint8Array; done: () => void }[] = [];
  #inputClosed = false;
  #inputWanted = false;
  /** Stdout messages received from the thread in this run (see Control.POSTED). */
  #received = 0;

  constructor(slot: Slot, spec: ScriptSpec) {
    this.#slot = slot;
    this.#spec = spec;
    this.#stdin = new Uint8Array(slot.shared.stdin);
    this.#held = new Uint8Array(slot.shared.held);
    this.#control = new Int32Array(slot.shared.control);
    // Each chunk taken lets the module write as much more; once the run has
    // ended, the thread's buffers belong to the next run.
    this.#output = new OutputQueue((bytes) => {
      if (this.#done) return;
      Atomics.add(this.#control, Control.CREDIT, bytes);
      Atomics.notify(this.#control, Control.CREDIT);
    });
    this.ended = new Promise((resolve) => (this.#resolveEnd = resolve));
  }

  receive(message: FromWorker): void {
    switch (message.type) {
      case "stdout":
        this.#received++;
        this.#output.push(message.bytes);
        break;
      case "stderr":
        this.#spec.onStderr(message.bytes);
        break;
      case "stdin":
        this.#inputWanted = true;
        this.#feed();
        break;
      case "end":
        // Every stdout message came before: the output ends with the module,
        // cut short (never passed off as complete) when the module crashed.
        if ("crash" in message.end) {
          this.#output.fail(new GatewayError("INTERNAL", `the module crashed: ${message.end.crash}`));
        } else {
          if (message.bytes) this.#output.push(message.bytes);
          this.#output.push(null);
        }
        this.#end(message.end);
        break;
    }
  }

  /** The thread ended under this run. */
  lost(reason: string): void {
    this.#output.fail(new GatewayError("INTERNAL", `the module's thread ended: ${reason}`));
    this.#end({ crash: reason });
  }

  #end(end: ScriptEnd): void {
    if (this.#done) return;
    this.#done = true;
    for (const input of this.#input.splice(0)) input.done();
    this.#resolveEnd(end);
  }

  /**
   * A write the module made and then went on computing without another:
   * taken from the shared buffer and passed on, so that output the module
   * flushed is not held back until its next write or its end.
   */
  claim(): void {
    if (this.#done || this.#output.ended) return;
    if (Atomics.compareExchange(this.#control, Control.HELD, Held.HELD, Held.CLAIMING) !== Held.HELD) return;
    if (Atomics.load(this.#control, Control.POSTED) !== this.#received) {
      // Output the thread posted before this write is still on its way: it goes first; claimed later.
      Atomics.store(this.#control, Control.HELD, Held.HELD);
      Atomics.notify(this.#control, Control.HELD);
      return;
    }
    const bytes = this.#held.slice(0, this.#control[Control.HELD_LENGTH]!);
    Atomics.store(this.#control, Control.HELD, Held.CLAIMED);
    Atomics.notify(this.#control, Control.HELD);
    this.#output.push(bytes);
  }

  /** Answers the module's stdin request when there is something to answer with. */
  #feed(): void {
    if (!this.#inputWanted || this.#done) return;
    const head = this.#input[0];
    let length: number;
    if (head) {
      const piece = head.bytes.subarray(0, CHUNK);
      this.#stdin.set(piece);
      length = piece.byteLength;
      head.bytes = head.bytes.subarray(piece.byteLength);
      if (head.bytes.byteLength === 0) {
        this.#input.shift();
        head.done();
      }
    } else if (this.#inputClosed) {
      length = -1;
    } else {
      return;
    }
    this.#inputWanted = false;
    Atomics.store(this.#control, Control.STDIN_LEN, length);
    Atomics.add(this.#control, Control.STDIN_SEQ, 1);
    Atomics.notify(this.#control, Control.STDIN_SEQ);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#done || bytes.byteLength === 0) return Promise.resolve();
    return new Promise((done) => {
      this.#input.push({ bytes, done });
      this.#feed();
    });
  }

  async closeInput(): Promise<void> {
    this.#inputClosed = true;
    this.#feed();
  }

  read(): Promise<Uint8Array | null> {
    return this.#output.read();
  }

  /** Any signal ends the run at once: its thread is ended and replaced. */
  signal(): void {
    if (this.#done) return;
    this.#slot.job = undefined;
    this.#end({ exitStatus: 128 + 9 });
    this.#output.push(null);
    this.#slot.replace();
  }

  close(): void {
    if (this.#output.ended) return;
    // The module is stopped at its next write, and woken if it waits to write:
    // CREDIT changes too, or a thread about to wait on it would sleep through.
    Atomics.store(this.#control, Control.STOP, 1);
    Atomics.add(this.#control, Control.CREDIT, 1);
    Atomics.notify(this.#control, Control.CREDIT);
    this.#output.drop();
  }
}
