// Ruby compiled to WASI (npm @ruby/3.4-wasm-wasi, github.com/ruby/ruby.wasm)
// as a CGI interpreter. Its module is a reactor with a component-model style
// interface: `_initialize`, then `ruby-init` with the command line, then
// `rb-eval-string-protect` with code to run. It also imports JavaScript
// interop (`rb-js-abi-host`, `canonical_abi`) for its `js` library: here a
// call into it ends the run, since a CGI script has no JavaScript to talk to.

import type { Interpreter } from "./interpreter.ts";

const INIT = "ruby-init: func(args: list<string>) -> ()";
const EVAL = "rb-eval-string-protect: func(str: string) -> tuple<handle<rb-abi-value>, s32>";
/** The command line of every instance: no RubyGems (half the start-up time), UTF-8 I/O. */
const COMMAND_LINE = ["ruby", "--disable-gems", "-EUTF-8", "-e_=0"];

interface RubyExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  cabi_realloc(old: number, oldSize: number, align: number, size: number): number;
  [INIT](list: number, count: number): void;
  [EVAL](code: number, length: number): number;
}

const encoder = new TextEncoder();

/** Copies `bytes` into memory the module allocates (the canonical ABI's realloc); returns its address. */
function put(ruby: RubyExports, bytes: Uint8Array): number {
  const at = ruby.cabi_realloc(0, 0, 1, bytes.byteLength);
  new Uint8Array(ruby.memory.buffer, at, bytes.byteLength).set(bytes);
  return at;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The code run for a request. The environment is set again from Ruby
 * (wasi-libc reads the WASI environment once, at start, and a snapshot
 * started before the request), each entry hex-encoded so that no byte of it
 * is read as code. What initialization drew stays as drawn in a snapshot:
 * Ruby's hash salt is the same for every request of the route (as in a
 * long-running Ruby server); its random generator is seeded on first use,
 * which initialization does not reach, so `rand` differs per request.
 * The script is loaded as `ruby script.rb` would run it: from its directory,
 * as $0; `exit`, and an exception (reported on stderr, status 1), end it;
 * `at_exit` blocks do not run (the run ends with exit!, to give the status).
 */
function requestCode(env: Uint8Array[]): string {
  const entries = env.map((entry) => hex(entry.at(-1) === 0 ? entry.subarray(0, -1) : entry)).join(" ");
  return `begin
  ENV.replace(%w[${entries}].to_h { |entry| [entry].pack("H*").split("=", 2) })
  $0 = ENV["SCRIPT_FILENAME"]
  Dir.chdir(File.dirname($0))
  load($0)
  status = 0
rescue SystemExit => e
  status = e.status
rescue Exception => e
  $stderr.puts(e.full_message(highlight: false))
  status = 1
end
$stdout.flush rescue nil
$stderr.flush rescue nil
exit!(status)
`;
}

export const ruby: Interpreter = {
  name: "ruby",
  extension: ".rb",
  index: "index.rb",
  exports: ["_initialize", "cabi_realloc", INIT, EVAL],

  imports() {
    const unavailable = (name: string | symbol) => () => {
      throw new Error(`the script called JavaScript (rb-js-abi-host.${String(name)}), which a CGI script has not`);
    };
    // Ruby values handed out by the module are indices into a table the host keeps.
    const values: number[] = [];
    return {
      "rb-js-abi-host": new Proxy({}, { get: (_, name) => unavailable(name) }),
      canonical_abi: {
        "resource_drop_js-abi-value": () => undefined,
        "resource_new_rb-abi-value": (raw: number) => values.push(raw) - 1,
        "resource_get_rb-abi-value": (handle: number) => values[handle] ?? 0,
      },
    };
  },

  initialize(instance) {
    const exports = instance.exports as unknown as RubyExports;
    exports._initialize();
    // list<string>: (address, length) pairs of NUL-terminated strings.
    const list = exports.cabi_realloc(0, 0, 4, COMMAND_LINE.length * 8);
    COMMAND_LINE.forEach((arg, i) => {
      const bytes = encoder.encode(`${arg}\0`);
      const at = put(exports, bytes);
      const view = new DataView(exports.memory.buffer);
      view.setUint32(list + i * 8, at, true);
      view.setUint32(list + i * 8 + 4, bytes.byteLength, true);
    });
    exports[INIT](list, COMMAND_LINE.length);
  },

  run(instance, env) {
    const exports = instance.exports as unknown as RubyExports;
    const code = encoder.encode(requestCode(env));
    const result = exports[EVAL](put(exports, code), code.byteLength);
    // The code ends with exit!: returning means it failed before the script ran.
    const state = new DataView(exports.memory.buffer).getInt32(result + 4, true);
    throw new Error(`ruby could not start the script (state ${state})`);
  },
};
