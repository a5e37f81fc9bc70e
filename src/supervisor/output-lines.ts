// A supervised process's output (its stderr, or its stdout) as lines for
// postern's error log, each with the pid of the run that wrote it (a
// restarted process writes under a new one). The first run's lines can be
// held back until it serves: if it cannot boot, they are the message of its
// BootError instead, written once by whoever reports that error rather than
// by every worker that failed the same way.

/** Lines kept for a boot failure's message. */
const HELD_LINES = 200;

export class OutputLines {
  readonly #write: (pid: number, line: string) => void;
  #held: string[] | undefined;
  #partial = "";
  #pid = 0;
  /** UTF-8 split across chunks waits here. */
  #decoder = new TextDecoder();

  constructor(write: (pid: number, line: string) => void, hold: boolean) {
    this.#write = write;
    this.#held = hold ? [] : undefined;
  }

  push(bytes: Uint8Array, pid: number): void {
    if (this.#pid !== pid) {
      // A new run: what the last one left without a newline is a line of its own.
      const rest = this.#partial + this.#decoder.decode();
      if (rest !== "") this.#line(this.#pid, rest);
      this.#partial = "";
      this.#pid = pid;
    }
    const lines = (this.#partial + this.#decoder.decode(bytes, { stream: true })).split("\n");
    this.#partial = lines.pop()!;
    for (const line of lines) this.#line(pid, line);
  }

  #line(pid: number, line: string): void {
    if (this.#held === undefined) this.#write(pid, line);
    else if (this.#held.length < HELD_LINES) this.#held.push(line);
  }

  /** The process serves: the lines held are written, and no more are held. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const line of held) this.#write(this.#pid, line);
  }

  /** The process could not boot: the lines held, unfinished one included, for its error; none is written. */
  takeHeld(): string[] {
    const held = this.#held ?? [];
    this.#held = undefined;
    if (this.#partial !== "") held.push(this.#partial);
    this.#partial = "";
    return held;
  }
}
