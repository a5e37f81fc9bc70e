// One CGI request (RFC 3875), whatever runs the program (a process, a
// WebAssembly module): start it, stream the request body to its stdin while
// its stdout is read, parse the head of its output and stream the rest to the
// client with backpressure. The script runs under a deadline; a timeout or a
// client that leaves stops it (a process group gets SIGTERM, then SIGKILL).

import { cgiResponse, hasBody, type CgiOutput } from "../../src/cgi/answer.ts";
import { CgiResponseParser, type CgiHead } from "../../src/cgi/response.ts";
import { GatewayError } from "../../src/errors.ts";
import type { ScriptLauncher, ScriptProcess, ScriptSpec } from "./launcher.ts";
import { NphResponseParser } from "./nph.ts";

export interface ScriptRun {
  launcher: ScriptLauncher;
  spec: ScriptSpec;
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  /** A HEAD request: the script runs, its body is not sent. */
  head: boolean;
  /** A non-parsed-header script (`nph-` name): its output starts with a status line. */
  nph: boolean;
  timeoutMs: number;
  killGraceMs: number;
  maxHeaderBytes: number;
  onClientGone(listener: () => void): () => void;
  /** Called once the script has ended (its slot is free again). */
  onEnded(): void;
  /** Called when the client does not get the output as the script wrote it: an answer cut short, or bytes past its Content-Length dropped. */
  onCut(reason: GatewayError): void;
}

export type ScriptOutcome =
  | { kind: "response"; response: Response }
  /** RFC 3875 §6.2.2: the server is to answer as if the client had asked for `location`. */
  | { kind: "local-redirect"; location: string };

/** Largest answer collected to be sent whole; past it the body is streamed. */
const WHOLE_BODY_LIMIT = 64 * 1024;

const NEXT_TURN = Symbol("next turn");

/** Resolves on a later turn of the event loop, after the I/O already due in this one. */
function nextTurn(): { promise: Promise<typeof NEXT_TURN>; timer: ReturnType<typeof setTimeout> } {
  let timer!: ReturnType<typeof setTimeout>;
  const promise = new Promise<typeof NEXT_TURN>((resolve) => (timer = setTimeout(resolve, 0, NEXT_TURN)));
  return { promise, timer };
}

interface CollectedOutput {
  parts: Uint8Array[];
  /** The output ended: `parts` is the whole body. */
  ended: boolean;
  /** A read still under way, for the body stream. */
  pending?: Promise<Uint8Array | null>;
}

/** Programs running now, by the launcher that started them (one per route). */
const running = new WeakMap<ScriptLauncher, number>();

/** How many programs `launcher` runs now (read-only, for the metrics). */
export function runningOn(launcher: ScriptLauncher): number {
  return running.get(launcher) ?? 0;
}

export async function runScript(run: ScriptRun): Promise<ScriptOutcome> {
  let proc: ScriptProcess;
  try {
    proc = await run.launcher.launch(run.spec);
  } catch (err) {
    run.onEnded();
    throw err;
  }
  const launcher = run.launcher;
  running.set(launcher, runningOn(launcher) + 1);
  // #settle calls onEnded once, when the program has exited and its output is done with.
  const onEnded = () => {
    running.set(launcher, runningOn(launcher) - 1);
    run.onEnded();
  };
  const counted = { ...run, onEnded };
  return new ScriptExchange(proc, counted).result();
}

class ScriptExchange {
  readonly #proc: ScriptProcess;
  readonly #run: ScriptRun;
  #stopReason: GatewayError | undefined;
  #killTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #deadline: ReturnType<typeof setTimeout>;
  readonly #unsubscribe: () => void;
  #exited = false;
  /** The output was read to its end, or given up. */
  #outputDone = false;
  #settled = false;

  constructor(proc: ScriptProcess, run: ScriptRun) {
    this.#proc = proc;
    this.#run = run;
    // The deadline covers the whole exchange: a script's output still on its
    // way to a client that does not read counts as the script running.
    this.#deadline = setTimeout(
      () => this.#stop(new GatewayError("BACKEND_FIRST_BYTE_TIMEOUT", `script ran over its ${run.timeoutMs} ms`)),
      run.timeoutMs,
    );
    this.#unsubscribe = run.onClientGone(() =>
      this.#stop(new GatewayError("CLIENT_CLOSED", "client left before the script finished")),
    );
    void proc.ended.then(() => {
      this.#exited = true;
      clearTimeout(this.#killTimer);
      this.#settle();
    });
    void this.#sendBody();
  }

  /** The slot is free once the script has exited and its output is done with. */
  #settle(): void {
    if (!this.#exited || !this.#outputDone || this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#deadline);
    this.#unsubscribe();
    this.#run.onEnded();
  }

  #outputFinished(): void {
    this.#outputDone = true;
    this.#settle();
  }

  /** Stops the script: SIGTERM to its group, SIGKILL after the grace period; its output is given up at once. */
  #stop(reason: GatewayError): void {
    this.#stopReason ??= reason;
    this.#proc.close();
    this.#outputFinished();
    if (this.#exited) return;
    this.#proc.signal("SIGTERM");
    this.#killTimer ??= setTimeout(() => this.#proc.signal("SIGKILL"), this.#run.killGraceMs);
  }

  async #sendBody(): Promise<void> {
    const { body } = this.#run;
    const proc = this.#proc;
    try {
      if (body instanceof Uint8Array) {
        await proc.write(body);
      } else if (body) {
        const reader = body.getReader();
        try {
          for (let r = await reader.read(); !r.done; r = await reader.read()) await proc.write(r.value);
        } catch (err) {
          // RFC 3875 §4.2 does not oblige a script to read its input: once it
          // stops, the rest of the body is not needed.
          void reader.cancel().catch(() => undefined);
          throw err;
        }
      }
    } catch {
      // The script closed its input or exited; what it answers still counts.
    } finally {
      await proc.closeInput().catch(() => undefined);
    }
  }

  async result(): Promise<ScriptOutcome> {
    try {
      return await this.#answer();
    } catch (err) {
      this.#stop(err instanceof GatewayError ? err : new GatewayError("BACKEND_MALFORMED", String(err)));
      throw err;
    }
  }

  async #answer(): Promise<ScriptOutcome> {
    const run = this.#run;
    const proc = this.#proc;
    const parser = run.nph
      ? new NphResponseParser({ maxHeaderBytes: run.maxHeaderBytes })
      : new CgiResponseParser({ maxHeaderBytes: run.maxHeaderBytes });
    let head: CgiHead | null = null;
    while (head === null) {
      const chunk = await this.#read();
      if (chunk === null) throw await this.#noHead(parser);
      head = parser.push(chunk);
    }
    if (head.kind === "local-redirect") {
      // §6.2.2: the script's output ends there; it is not waited for.
      proc.close();
      this.#outputFinished();
      return { kind: "local-redirect", location: head.location! };
    }
    const first = parser.takeRest();
    const options = { head: run.head, onCut: run.onCut };
    if (!hasBody(head, run.head)) {
      return { kind: "response", response: cgiResponse(head, { parts: [], ended: false }, this.#output(undefined), options) };
    }
    const { parts, ended, pending } = await this.#collect(first);
    return { kind: "response", response: cgiResponse(head, { parts, ended }, this.#output(pending), options) };
  }

  /** The output after what has been read, for the answer; `pending` is a read already under way. */
  #output(pending: Promise<Uint8Array | null> | undefined): CgiOutput {
    let next = pending;
    return {
      read: async () => {
        const read = next;
        next = undefined;
        try {
          const chunk = await this.#read(read);
          if (chunk === null) this.#outputFinished();
          return chunk;
        } catch (err) {
          const reason = err instanceof GatewayError ? err : new GatewayError("BACKEND_UNREACHABLE", String(err));
          this.#stop(reason);
          throw reason;
        }
      },
      cancel: (reason) => this.#stop(reason),
    };
  }

  /** The next chunk of output; null only at its real end, never when the script was stopped. */
  async #read(pending?: Promise<Uint8Array | null>): Promise<Uint8Array | null> {
    const chunk = await (pending ?? this.#proc.read());
    if (this.#stopReason) throw this.#stopReason;
    return chunk;
  }

  /**
   * Reads on while output arrives without waiting for the script: a small
   * script's answer has usually ended by the next turn of the event loop, and
   * is then sent whole with its length (a body stream costs more than such
   * an answer). A script still writing is streamed, at most a turn later.
   */
  async #collect(first: Uint8Array): Promise<CollectedOutput> {
    const parts = first.byteLength > 0 ? [first] : [];
    let size = first.byteLength;
    while (size <= WHOLE_BODY_LIMIT) {
      const read = this.#read();
      const turn = nextTurn();
      const chunk = await Promise.race([read, turn.promise]);
      clearTimeout(turn.timer);
      if (chunk === NEXT_TURN) {
        read.catch(() => undefined); // the body stream takes it over
        return { parts, ended: false, pending: read };
      }
      if (chunk === null) {
        this.#outputFinished();
        return { parts, ended: true };
      }
      parts.push(chunk);
      size += chunk.byteLength;
    }
    return { parts, ended: false };
  }

  /** Why stdout ended before a complete head, as an error for the client's 502. */
  async #noHead(parser: { finish(): void }): Promise<GatewayError> {
    // The exit status explains it best, if the script has exited by now.
    const end = await Promise.race([this.#proc.ended, new Promise<undefined>((r) => setTimeout(r, 100))]);
    if (end && "startError" in end) return new GatewayError("BACKEND_UNREACHABLE", `script not started: ${end.startError}`);
    if (end && "crash" in end) return new GatewayError("INTERNAL", `script crashed: ${end.crash}`);
    if (end && end.exitStatus !== 0) {
      return new GatewayError("BACKEND_MALFORMED", `script exited with status ${end.exitStatus} before a complete header`);
    }
    try {
      parser.finish();
    } catch (err) {
      return err as GatewayError;
    }
    return new GatewayError("BACKEND_MALFORMED", "end of output before the header");
  }
}
