// The keys of a `gateway = "wasi"` route (postern.toml) and of the
// `wasi({...})` options: one schema, one set of names.

import { bufferingFields } from "../../src/buffer/options.ts";
import type { GatewaySchema, InputOf, ValidatedOf } from "../../src/config-schema.ts";
import { interpreters } from "./interpreter.ts";
import { routeFields } from "../route/fields.ts";

/** Where an interpreter route's root is in the guest: DOCUMENT_ROOT. */
export const SCRIPT_ROOT = "/app";

export const wasiSchema = {
  check(options) {
    for (const guest of Object.keys(options.volumes as Record<string, string>)) {
      // Written one way only: wasi-libc matches a path to the preopen with the longest name.
      if (!guest.startsWith("/") || guest.slice(1).split("/").some((part) => part === "" || part === "." || part === "..")) {
        return { key: `volumes.${guest}`, message: 'the guest path must be absolute, without ".", ".." or empty segments, e.g. "/data"' };
      }
      if (options.interpreter !== undefined && (guest === SCRIPT_ROOT || guest.startsWith(`${SCRIPT_ROOT}/`))) {
        return { key: `volumes.${guest}`, message: `${SCRIPT_ROOT} is where an interpreter route's root is: a volume may not be in it` };
      }
    }
    if (options.interpreter === undefined) {
      for (const key of ["root", "snapshot"]) {
        if (options[key] !== undefined) return { key, message: `only an interpreter route has a ${key} (set interpreter, e.g. "ruby")` };
      }
      return undefined;
    }
    if (options.root === undefined) return { key: "interpreter", message: "an interpreter route needs root: the directory of its scripts" };
    for (const key of ["entrypoint", "argv"]) {
      if (options[key] !== undefined) return { key, message: `an interpreter route runs scripts from root, not ${key}` };
    }
    return undefined;
  },
  fields: {
    ...routeFields,
    module: { type: "string", required: true, doc: "the WebAssembly module run for each request: a WASI preview1 command (`.wasm`), or with `interpreter` the interpreter's module" },
    entrypoint: { type: "string", doc: 'exported function called for each request (default `"_start"`; not with `interpreter`)' },
    argv: { type: "string[]", doc: "the module's arguments (default: the script name alone); never built from the query string. Not with `interpreter`" },
    interpreter: {
      type: "string",
      oneOf: Object.keys(interpreters),
      doc: "the module is this interpreter, and runs the scripts in `root`: `\"ruby\"` (`@ruby/3.4-wasm-wasi`'s `ruby+stdlib.wasm`) runs `.rb` scripts",
    },
    root: { type: "string", doc: "with `interpreter`: the scripts' directory, looked up as the cgi gateway does (root + the whole URL path), read into memory at startup; the interpreter sees it read-only at `/app` (`DOCUMENT_ROOT`)" },
    snapshot: {
      type: "boolean",
      doc: "with `interpreter`: initialize it once at startup and start every request from a copy of that instance, instead of initializing per request (default `true`)",
    },
    env: { type: "env", default: {}, doc: "extra variables for the module besides the CGI meta-variables, set last" },
    volumes: {
      type: "env",
      default: {},
      doc: 'read-only directories for the module, guest path -> host directory (WAGI\'s volumes), e.g. { "/data" = "./data" }; read into memory at startup',
    },
    max_volume_size: { type: "size", default: 64 * 1024 ** 2, min: 0, doc: "bytes of files all the route's volumes may hold" },
    threads: { type: "integer", default: 4, min: 1, max: 256, doc: "worker threads, each running one request at a time: the requests this route runs at once (more than the cores hides the hand-over between threads); more wait in its queue" },
    max_queue: { type: "integer", default: 1024, min: 0, doc: "requests that may wait for a free thread; beyond it 503 with `Retry-After`" },
    queue_timeout: { type: "duration", default: 30_000, min: 1, doc: "longest wait for a free thread; beyond it 503 with `Retry-After`" },
    timeout: { type: "duration", default: 30_000, min: 1, doc: "longest a request may run; then the module's thread is ended and the answer is 504 (or cut, once started)" },
    max_memory: {
      type: "size",
      default: 256 * 1024 ** 2,
      min: 65536,
      // Up to 2 GiB every address a module passes fits a positive i32.
      max: 2 * 1024 ** 3,
      doc: 'linear memory a module may have (at most `"2g"`): written into the module as its memory maximum, so growing past it fails inside the module; a module that needs more at start is refused at startup',
    },
    max_output: { type: "size", default: 1024 ** 3, min: 1, doc: "bytes a module may write to stdout; beyond it the answer is cut" },
    ...bufferingFields,
    max_response_header_size: { type: "size", default: 64 * 1024, min: 1024, doc: "largest header block a module may print; beyond it 502" },
    max_stderr: { type: "size", default: 8 * 1024, min: 0, doc: "bytes of a module's stderr logged per request; the rest is dropped" },
    underscores_in_headers: { type: "boolean", default: false, doc: "pass request headers whose names contain `_` (dropped by default, so that `X_Forwarded_For` cannot pose as `X-Forwarded-For`)" },
  },
} as const satisfies GatewaySchema;

/** What `wasi({...})` takes. */
export type WasiInput = InputOf<typeof wasiSchema.fields>;

/** The validated keys; those every script gateway has are ScriptRouteOptions'. */
export type WasiOptions = ValidatedOf<typeof wasiSchema.fields>;
