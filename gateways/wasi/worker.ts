// The module a WASI worker thread runs: it instantiates the route's compiled
// module for each request and runs it to its end, with stdin, stdout and
// stderr carried to the main thread (see messages.ts). Written against the
// Web Worker contract (globalThis.postMessage / onmessage), so it runs on any
// runtime's threads.

import type { WasiIo } from "./host.ts";
import { MemoryKeeper, runInstance } from "./instance.ts";
import type { ScriptEnd } from "../script/launcher.ts";
import { CHUNK, Control, Held, type FromWorker, type ThreadSetup } from "./messages.ts";

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: ArrayBuffer[]): void;
  onmessage: ((event: { data: ThreadSetup }) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const EMPTY = new Uint8Array(0);
/** The memory a finished run leaves for the next (instance.ts). */
const memories = new MemoryKeeper();

/** The main thread stopped listening (the client left, or the answer is done with). */
class Stopped extends Error {}

// The thread's one message: then it serves requests until it is ended.
scope.onmessage = ({ data }) => serve(data);

function serve(thread: ThreadSetup): never {
  const control = new Int32Array(thread.control);
  for (let seq = 0; ; ) {
    Atomics.wait(control, Control.JOB_SEQ, seq);
    seq = Atomics.load(control, Control.JOB_SEQ);
    run(thread, control);
  }
}

/**
 * Runs one request. Stdout is held back by one write, in shared memory: it
 * goes to the main thread with the next write, before a read of stdin, or
 * with the end of the run, so a small answer costs one message, not two; and
 * if the module computes on meanwhile, the main thread claims it itself.
 */
function run(thread: ThreadSetup, control: Int32Array): void {
  const stdinBuffer = new Uint8Array(thread.stdin);
  const strings = new Uint8Array(thread.job, 0, control[Control.JOB_LENGTH]!);
  let outputLeft = thread.maxOutput;
  let stderrLeft = control[Control.JOB_STDERR]!;
  let stdin = EMPTY;
  let stdinEnded = false;
  const heldBuffer = new Uint8Array(thread.held);
  // What ended the run, recorded before the exception that ends it is thrown:
  // a module can catch the host's exceptions (a catch_all), and carry on.
  let limit: string | undefined;
  let stopped = false;
  let exitCode: number | undefined;

  /** Sends stdout within the credit the main thread gave, waiting for more as needed. */
  const send = (bytes: Uint8Array) => {
    for (let offset = 0; offset < bytes.byteLength; ) {
      if (Atomics.load(control, Control.STOP) === 1) {
        stopped = true;
        throw new Stopped();
      }
      const credit = Atomics.load(control, Control.CREDIT);
      if (credit <= 0) {
        // Backpressure: the client has not taken what was sent yet.
        Atomics.wait(control, Control.CREDIT, credit);
        continue;
      }
      const n = Math.min(credit, bytes.byteLength - offset, CHUNK);
      Atomics.sub(control, Control.CREDIT, n);
      // A copy: `bytes` is the module's memory (host.ts WasiIo), and the piece is transferred.
      postStdout(bytes.slice(offset, offset + n));
      offset += n;
    }
  };
  /** Posts stdout, counted (Control.POSTED) before any later write is held. */
  const postStdout = (bytes: Uint8Array) => {
    scope.postMessage({ type: "stdout", bytes }, [bytes.buffer as ArrayBuffer]);
    Atomics.add(control, Control.POSTED, 1);
  };
  /** Takes the held write back: its bytes, or null when there is none or the main thread claimed it. */
  const takeHeld = (): Uint8Array | null => {
    for (;;) {
      const state = Atomics.compareExchange(control, Control.HELD, Held.HELD, Held.NONE);
      if (state === Held.HELD) return heldBuffer.slice(0, control[Control.HELD_LENGTH]!);
      // The main thread is copying them, or finding it must not yet: the buffer is not ours until it is done.
      if (state === Held.CLAIMING) {
        Atomics.wait(control, Control.HELD, Held.CLAIMING);
        continue;
      }
      if (state === Held.CLAIMED) Atomics.store(control, Control.HELD, Held.NONE);
      return null;
    }
  };
  /** Sends the held write (its credit was taken when it was held). */
  const flush = () => {
    const bytes = takeHeld();
    if (bytes) postStdout(bytes);
  };

  const io: WasiIo = {
    readStdin(max) {
      flush();
      if (stdin.byteLength === 0 && !stdinEnded) {
        const seq = Atomics.load(control, Control.STDIN_SEQ);
        scope.postMessage({ type: "stdin" });
        Atomics.wait(control, Control.STDIN_SEQ, seq);
        const length = Atomics.load(control, Control.STDIN_LEN);
        if (length < 0) stdinEnded = true;
        else stdin = stdinBuffer.slice(0, length);
      }
      const chunk = stdin.subarray(0, max);
      stdin = stdin.subarray(chunk.byteLength);
      return chunk;
    },
    writeStdout(bytes) {
      outputLeft -= bytes.byteLength;
      if (outputLeft < 0) {
        limit = `output over max_output (${thread.maxOutput} bytes)`;
        throw new Error(limit);
      }
      flush();
      if (bytes.byteLength > heldBuffer.byteLength || Atomics.load(control, Control.CREDIT) < bytes.byteLength) {
        send(bytes);
        return;
      }
      Atomics.sub(control, Control.CREDIT, bytes.byteLength);
      heldBuffer.set(bytes);
      control[Control.HELD_LENGTH] = bytes.byteLength;
      Atomics.store(control, Control.HELD, Held.HELD);
    },
    writeStderr(bytes) {
      if (stderrLeft <= 0) return;
      const kept = bytes.slice(0, stderrLeft);
      stderrLeft -= kept.byteLength;
      scope.postMessage({ type: "stderr", bytes: kept }, [kept.buffer as ArrayBuffer]);
    },
  };

  const counts = { argc: control[Control.JOB_ARGC]!, envc: control[Control.JOB_ENVC]! };
  const onExit = (code: number) => void (exitCode ??= code);
  const { thrown, memory } = runInstance(thread, { strings, ...counts }, io, memories, onExit);
  let end: ScriptEnd =
    thrown === undefined || thrown instanceof Stopped ? { exitStatus: 0 } : { crash: thrown instanceof Error ? thrown.message : String(thrown) };
  if (limit !== undefined) end = { crash: limit };
  else if (stopped) end = { crash: "stopped: its output was no longer wanted" };
  else if (exitCode !== undefined) end = { exitStatus: exitCode };
  // What is held goes with the end.
  const last = takeHeld();
  if (last && !("crash" in end)) scope.postMessage({ type: "end", end, bytes: last }, [last.buffer as ArrayBuffer]);
  else scope.postMessage({ type: "end", end });
  memories.give(thread, memory);
}
