// The module a WASI worker thread runs: it instantiates the route's compiled
// module for each request and runs it to its end, with stdin, stdout and
// stderr carried to the main thread (see messages.ts). Written against the
// Web Worker contract (globalThis.postMessage / onmessage), so it runs on any
// runtime's threads.

import { WasiExit, wasiImports, type WasiIo } from "./host.ts";
import { CHUNK, Control, type FromWorker, type ToWorker } from "./messages.ts";

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: ArrayBuffer[]): void;
  onmessage: ((event: { data: ToWorker }) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const EMPTY = new Uint8Array(0);
let compiled: WebAssembly.Module | undefined;

/** The main thread stopped listening (the client left, or the answer is done with). */
class Stopped extends Error {}

scope.onmessage = ({ data }) => {
  if (data.type === "module") compiled = data.module;
  else scope.postMessage({ type: "end", end: run(data) });
};

function run(job: Extract<ToWorker, { type: "run" }>) {
  const control = new Int32Array(job.control);
  const stdinBuffer = new Uint8Array(job.stdin);
  let outputLeft = job.limits.output;
  let stderrLeft = job.limits.stderr;
  let stdin = EMPTY;
  let stdinEnded = false;

  const io: WasiIo = {
    readStdin(max) {
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
      if (outputLeft < 0) throw new Error(`output over max_output (${job.limits.output} bytes)`);
      for (let offset = 0; offset < bytes.byteLength; ) {
        if (Atomics.load(control, Control.STOP) === 1) throw new Stopped();
        const credit = Atomics.load(control, Control.CREDIT);
        if (credit <= 0) {
          // Backpressure: the client has not taken what was sent yet.
          Atomics.wait(control, Control.CREDIT, credit);
          continue;
        }
        const n = Math.min(credit, bytes.byteLength - offset, CHUNK);
        Atomics.sub(control, Control.CREDIT, n);
        const piece = offset === 0 && n === bytes.byteLength ? bytes : bytes.slice(offset, offset + n);
        scope.postMessage({ type: "stdout", bytes: piece }, [piece.buffer as ArrayBuffer]);
        offset += n;
      }
    },
    writeStderr(bytes) {
      if (stderrLeft <= 0) return;
      const kept = bytes.slice(0, stderrLeft);
      stderrLeft -= kept.byteLength;
      scope.postMessage({ type: "stderr", bytes: kept }, [kept.buffer as ArrayBuffer]);
    },
  };

  // The memory limit is in the module itself (memory-limit.ts): memory.grow fails past it.
  let memory: WebAssembly.Memory | undefined;
  try {
    if (!compiled) throw new Error("no module");
    const imports = wasiImports({ args: job.args, env: job.env, io }, () => memory!);
    const instance = new WebAssembly.Instance(compiled, { wasi_snapshot_preview1: imports });
    memory = instance.exports.memory as WebAssembly.Memory;
    (instance.exports[job.entrypoint] as () => void)();
    return { exitStatus: 0 };
  } catch (err) {
    if (err instanceof WasiExit) return { exitStatus: err.code };
    if (err instanceof Stopped) return { crash: "stopped: its output was no longer wanted" };
    return { crash: err instanceof Error ? err.message : String(err) };
  }
}
