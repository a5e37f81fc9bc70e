// `--pid FILE`: postern's process id, written once it listens, for a process
// manager or a logrotate script to signal it (nginx's pid, Gunicorn's
// --pid), and removed when it exits.

import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { RuntimeFailure, whyNot } from "./failure.ts";

export function writePidFile(path: string): void {
  try {
    writeFileSync(path, `${process.pid}\n`);
  } catch (err) {
    throw new RuntimeFailure(`--pid ${path}: cannot write it: ${whyNot(err, { path })}`);
  }
}

/** Removes the file, unless another postern has written its own id there since. */
export function removePidFile(path: string): void {
  try {
    if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // Gone already, or no longer readable: nothing of ours to remove.
  }
}
