// An interpreter compiled to WebAssembly that runs scripts as CGI programs:
// its module is not a WASI command (it has no `_start` to run per request)
// but a reactor, initialized once per instance and then asked to run a
// script. The route maps a request to a script in its `root` (lookup.ts);
// the interpreter gets the script's path in SCRIPT_FILENAME.

import { ruby } from "./ruby.ts";

export interface Interpreter {
  /** What the route's `interpreter` key calls it. */
  name: string;
  /** The script files it runs ("hello.rb"), and the one run for a directory. */
  extension: string;
  index: string;
  /** Functions the module must export. */
  exports: readonly string[];
  /** Import modules besides wasi_snapshot_preview1, for the instance `instance()` gives once it exists. */
  imports(instance: () => WebAssembly.Instance): WebAssembly.Imports;
  /** Brings a fresh instance to where it can run scripts (what a snapshot keeps, see preinit.ts). */
  initialize(instance: WebAssembly.Instance): void;
  /** Runs the request's script; `env` is the request's environment ("NAME=value" bytes, NUL-terminated). Ends with proc_exit. */
  run(instance: WebAssembly.Instance, env: Uint8Array[]): void;
}

/** The interpreters a route's `interpreter` key can name. */
export const interpreters: Record<string, Interpreter> = { ruby };
