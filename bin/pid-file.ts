// `--pid FILE`: postern's process id, written once it listens, for a process
// manager or a logrotate script to signal it (nginx's pid, Gunicorn's
// --pid), and removed when it exits.

import { readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { RuntimeFailure, whyNot } from "./failure.ts";

/**
 * Writes the id beside the file, then renames it over the file, as Gunicorn
 * does (gunicorn/pidfile.py): whatever is at the path, a stale pid file or a
 * symlink planted in a shared directory, is replaced, never followed and
 * truncated (postern often starts as root). A file of a process still running
 * is replaced too, as nginx does: after a crash its pid may be anyone's.
 */
export function writePidFile(path: string): void {
  const aside = `${path}.${process.pid}.tmp`;
  let written = false;
  try {
    // "wx": O_EXCL refuses a symlink planted at the temporary name too.
    writeFileSync(aside, `${process.pid}\n`, { flag: "wx", mode: 0o644 });
    written = true;
    renameSync(aside, path);
  } catch (err) {
    if (written) rmSync(aside, { force: true });
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
