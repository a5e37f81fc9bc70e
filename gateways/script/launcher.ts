// How a gateway that runs CGI programs starts one and talks to it, whatever
// starts it: the CGI gateway's native spawner or the runtime's own spawn, the
// WASI gateway's worker threads.

export interface ScriptSpec {
  /** For a process, argv[0] is the absolute path of the program: the script, or its interpreter. */
  argv: string[];
  /** The script's whole environment. */
  env: Record<string, string>;
  cwd: string;
  /**
   * The real root a CGI script lies beneath: then cwd is the script's real
   * directory below it and the last element of argv the script's real path.
   * A launcher that can opens cwd beneath the root, following no symlink, and
   * runs the script by its name there, so that what runs is what was looked
   * up even if a directory was swapped for a symlink since.
   */
  root?: string;
  /** Bytes of stderr passed to `onStderr`; the rest is read and dropped. */
  maxStderr: number;
  onStderr(bytes: Uint8Array): void;
}

/**
 * How a script ended: its exit status (128 + signal when killed), why it
 * never ran, or why it was stopped midway (a WebAssembly trap, a limit).
 */
export type ScriptEnd = { exitStatus: number } | { startError: string } | { crash: string };

export interface ScriptProcess {
  /** Writes to the script's stdin; settles when more can be written. */
  write(bytes: Uint8Array): Promise<void>;
  /** Ends stdin: the script reads end of file. */
  closeInput(): Promise<void>;
  /** The next chunk of stdout, or null at its end; rejects when the output was lost midway. */
  read(): Promise<Uint8Array | null>;
  readonly ended: Promise<ScriptEnd>;
  /** Signals the script's whole process group; nothing once the script has ended. */
  signal(signal: "SIGTERM" | "SIGKILL"): void;
  /** Lets go of stdin and stdout. */
  close(): void;
}

export interface ScriptLauncher {
  /** Starts a script; rejects when it cannot be started at all. */
  launch(spec: ScriptSpec): Promise<ScriptProcess>;
  close(): Promise<void>;
}
