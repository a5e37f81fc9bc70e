// The exit status of a child a signal ended, for runtimes that name the
// signal without its number (Deno, Bun).

/** Signal numbers (Linux, signal(7)). */
const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGXCPU: 24, SIGXFSZ: 25, SIGSYS: 31,
};

/** 128 + the signal's number, as a shell reports it. */
export function signalExitStatus(signal: string): number {
  return 128 + (SIGNALS[signal] ?? 0);
}
