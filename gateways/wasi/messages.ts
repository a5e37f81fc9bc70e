// What the gateway's main thread and its WASI worker threads say to each
// other, and the shared memory they also use: requests are handed to a
// thread there (a thread waits for its next one with Atomics.wait: a message
// per request cost a third of the main thread's work), and through it a
// module blocks on stdout flow control (a credit of bytes) and on stdin (one
// chunk handed over at a time). A module runs synchronously in its thread.

import type { ScriptEnd } from "../script/launcher.ts";
import type { ModuleSetup } from "./instance.ts";

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
  /** Bumped by the main thread when it hands the thread a request. */
  JOB_SEQ: 4,
  /** The request: bytes of its strings in the job buffer, its argument and variable counts, its stderr limit. */
  JOB_LENGTH: 5,
  JOB_ARGC: 6,
  JOB_ENVC: 7,
  JOB_STDERR: 8,
  /**
   * The write held back (see worker.ts run), HELD_LENGTH bytes in the `held`
   * buffer: NONE, HELD by the thread, or taken by the main thread because the
   * module kept computing (CLAIMING while it copies them, then CLAIMED).
   */
  HELD: 9,
  HELD_LENGTH: 10,
  /**
   * Stdout messages the thread has posted in this run. A claim of the held
   * write waits until the main thread has received as many: messages travel
   * on their own, and output taken from shared memory must not overtake
   * output posted before it.
   */
  POSTED: 11,
} as const;
export const CONTROL_BYTES = 48;
export const Held = { NONE: 0, HELD: 1, CLAIMED: 2, CLAIMING: 3 } as const;
/** Room for a request's arguments and environment (request heads are at most 16 KiB). */
export const JOB_BYTES = 256 * 1024;
/** Largest stdin chunk handed over at once, and the stdout credit a run starts with. */
export const CHUNK = 64 * 1024;

/** The pages of a memory that are not zero, in order, one after the other in `bytes` (see snapshot.ts). */
export interface MemoryImage {
  pages: number[];
  bytes: SharedArrayBuffer;
}

/** What a run calls: the module's entrypoint (a WASI command), or an interpreter's script runner (interpreter.ts). */
export type Program = { entrypoint: string } | { interpreter: string };

/** Once per thread: what every run of it shares (ModuleSetup), and the buffers the requests come through. */
export interface ThreadSetup extends ModuleSetup {
  /** Bytes of stdout a run may write; beyond it the module is stopped. */
  maxOutput: number;
  control: SharedArrayBuffer;
  stdin: SharedArrayBuffer;
  /** A request's arguments then its environment, NUL-terminated strings. */
  job: SharedArrayBuffer;
  /** The stdout write held back, CHUNK bytes at most. */
  held: SharedArrayBuffer;
}

export type FromWorker =
  | { type: "stdout"; bytes: Uint8Array }
  | { type: "stderr"; bytes: Uint8Array }
  | { type: "stdin" }
  /** The run ended; `bytes` is the last of its stdout, when it fits the credit. */
  | { type: "end"; end: ScriptEnd; bytes?: Uint8Array };
