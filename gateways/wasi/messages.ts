// What the gateway's main thread and its WASI worker threads say to each
// other, and the shared memory through which a module blocks: stdout flow
// control (a credit of bytes) and stdin (one chunk handed over at a time).
// A module runs synchronously in its thread, so it waits with Atomics.wait.

import type { ScriptEnd } from "../script/launcher.ts";

/** Int32 slots of the control buffer. */
export const Control = {
  /** Stdout bytes the module may still send before it waits. */
  CREDIT: 0,
  /** Bumped by the main thread each time it answers a stdin request. */
  STDIN_SEQ: 1,
  /** Bytes in the stdin buffer after that answer; -1 at the end of stdin. */
  STDIN_LEN: 2,
  /** 1 once the main thread wants no more output: the module is stopped at its next write. */
  STOP: 3,
} as const;
export const CONTROL_BYTES = 16;
/** Largest stdin chunk handed over at once, and the stdout credit a run starts with. */
export const CHUNK = 64 * 1024;

export interface RunLimits {
  /** Bytes of stdout; beyond it the module is stopped. */
  output: number;
  /** Bytes of stderr passed on; the rest is dropped. */
  stderr: number;
}

export type ToWorker =
  | { type: "module"; module: WebAssembly.Module }
  | {
      type: "run";
      args: string[];
      env: Record<string, string>;
      entrypoint: string;
      limits: RunLimits;
      control: SharedArrayBuffer;
      stdin: SharedArrayBuffer;
    };

export type FromWorker =
  | { type: "stdout"; bytes: Uint8Array }
  | { type: "stderr"; bytes: Uint8Array }
  | { type: "stdin" }
  | { type: "end"; end: ScriptEnd };
