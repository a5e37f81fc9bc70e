// Runs a route's module on the calling thread, for runtimes without threads
// (workerd). A module's imports are synchronous calls, so without a thread
// to block in, the run cannot wait for input or for the client: the request
// body is taken whole first (within the route's max_body_size), the module
// runs to its end, and its output is then passed on, with no backpressure.
// Nothing interrupts a run midway: the platform's own CPU limit does (a
// Worker's), not the route's timeout.

import { GatewayError } from "../../src/errors.ts";
import { concatBytes } from "../../src/io/bytes.ts";
import type { ScriptEnd, ScriptLauncher, ScriptProcess, ScriptSpec } from "../script/launcher.ts";
import { OutputQueue } from "../script/output.ts";
import { encodeStrings, type WasiIo } from "./host.ts";
import { MemoryKeeper, runInstance, type Job, type ModuleSetup } from "./instance.ts";
import { JOB_BYTES } from "./messages.ts";

export interface InlineOptions extends ModuleSetup {
  /** Bytes of stdout a run may write; beyond it the answer is cut. */
  maxOutput: number;
}

export class InlineRunner implements ScriptLauncher {
  readonly #options: InlineOptions;
  readonly #memories = new MemoryKeeper();

  constructor(options: InlineOptions) {
    this.#options = options;
  }

  async launch(spec: ScriptSpec): Promise<ScriptProcess> {
    // Arguments and environment too large for the module's strings: the request fails here, no run is made.
    const strings = new Uint8Array(JOB_BYTES);
    const { length, argc, envc } = encodeStrings(spec.argv, spec.env, strings);
    return new InlineRun(this.#options, this.#memories, spec, { strings: strings.subarray(0, length), argc, envc });
  }

  async close(): Promise<void> {}
}

class InlineRun implements ScriptProcess {
  readonly ended: Promise<ScriptEnd>;
  readonly #options: InlineOptions;
  readonly #memories: MemoryKeeper;
  readonly #spec: ScriptSpec;
  readonly #job: Job;
  readonly #output = new OutputQueue(() => undefined);
  readonly #input: Uint8Array[] = [];
  #resolveEnd!: (end: ScriptEnd) => void;
  #started = false;

  constructor(options: InlineOptions, memories: MemoryKeeper, spec: ScriptSpec, job: Job) {
    this.#options = options;
    this.#memories = memories;
    this.#spec = spec;
    this.#job = job;
    this.ended = new Promise((resolve) => (this.#resolveEnd = resolve));
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.#started) this.#input.push(bytes.slice());
  }

  /** The whole body is in: the module runs now, to its end. */
  async closeInput(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#resolveEnd(this.#run());
  }

  #run(): ScriptEnd {
    let stdin = concatBytes(this.#input);
    this.#input.length = 0;
    let outputLeft = this.#options.maxOutput;
    let stderrLeft = this.#spec.maxStderr;
    let limit: string | undefined;
    let exitCode: number | undefined;
    const io: WasiIo = {
      readStdin: (max) => {
        const chunk = stdin.subarray(0, max);
        stdin = stdin.subarray(chunk.byteLength);
        return chunk;
      },
      writeStdout: (bytes) => {
        outputLeft -= bytes.byteLength;
        if (outputLeft < 0) {
          limit = `output over max_output (${this.#options.maxOutput} bytes)`;
          throw new Error(limit);
        }
        // A copy: `bytes` is the module's memory (host.ts WasiIo).
        this.#output.push(bytes.slice());
      },
      writeStderr: (bytes) => {
        if (stderrLeft <= 0) return;
        const kept = bytes.slice(0, stderrLeft);
        stderrLeft -= kept.byteLength;
        this.#spec.onStderr(kept);
      },
    };
    const { thrown, memory } = runInstance(this.#options, this.#job, io, this.#memories, (code) => void (exitCode ??= code));
    this.#memories.give(this.#options, memory);
    const crash = limit ?? (thrown === undefined ? undefined : thrown instanceof Error ? thrown.message : String(thrown));
    if (crash !== undefined) {
      this.#output.fail(new GatewayError("INTERNAL", `the module crashed: ${crash}`));
      return { crash };
    }
    this.#output.push(null);
    return { exitStatus: exitCode ?? 0 };
  }

  read(): Promise<Uint8Array | null> {
    return this.#output.read();
  }

  /** A run cannot be stopped midway; before it started, it never will. */
  signal(): void {
    if (this.#started) return;
    this.#started = true;
    this.#output.push(null);
    this.#resolveEnd({ exitStatus: 128 + 9 });
  }

  close(): void {
    this.#output.drop();
  }
}
