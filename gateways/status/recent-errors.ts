// The last lines of the error log, for the status page (lighttpd's
// mod_status shows none; its error log is a file to read): a ring buffer
// fed by a Runtime whose logError also keeps each line here.

import type { Runtime } from "../../src/runtime.ts";

/** Lines kept: enough to see what went wrong lately, little memory whatever the rate. */
export const RECENT_ERRORS = 50;
/** Longest line kept: a stack trace or a script's stderr is cut here. */
const MAX_LINE = 2_000;

export interface ErrorLine {
  /** When it was logged, ms since the epoch. */
  time: number;
  line: string;
}

export class RecentErrors {
  readonly #lines: ErrorLine[] = [];
  readonly #size: number;
  #next = 0;

  constructor(size = RECENT_ERRORS) {
    this.#size = size;
  }

  add(line: string, time = Date.now()): void {
    const entry = { time, line: line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line };
    if (this.#lines.length < this.#size) this.#lines.push(entry);
    else this.#lines[this.#next] = entry;
    this.#next = (this.#next + 1) % this.#size;
  }

  /** The lines kept, newest first. */
  newestFirst(): ErrorLine[] {
    const older = this.#lines.slice(this.#next);
    const newer = this.#lines.slice(0, this.#next);
    return [...older, ...newer].reverse();
  }
}

/** `runtime` whose logError also keeps each line in `recent`. */
export function keepingErrors(runtime: Runtime, recent: RecentErrors): Runtime {
  const logError = runtime.logError;
  return {
    ...runtime,
    logError: (line) => {
      recent.add(line);
      logError(line);
    },
  };
}
