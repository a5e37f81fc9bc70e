// The error of a route whose workers cannot boot: the app does not import
// (ImportError, SyntaxError, a missing attribute). Gunicorn exits with status
// 3 for it (its WORKER_BOOT_ERROR) and does not restart the workers; postern
// does the same at startup, and keeps its running config on a reload.

export class BootError extends Error {
  /** The status the process exited with, and what it wrote to stderr before. */
  readonly status: number | undefined;
  readonly output: readonly string[];
  constructor(message: string, status?: number, output: readonly string[] = []) {
    super(message);
    this.name = "BootError";
    this.status = status;
    this.output = output;
  }
}
