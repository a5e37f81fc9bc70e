// The keys of a `gateway = "wsgi"` route (postern.toml) and of the
// `wsgi({...})` options: Gunicorn's settings in snake_case (app, workers,
// threads, timeout, max_requests, max_requests_jitter, chdir, pythonpath),
// the memory limit Gunicorn lacks (uWSGI's reload-on-rss), the CGI rule for
// the workers' environment (pass_env + env), and the keys every backend
// route shares for queueing, keep-alive and buffering.

import { PROCESS_USER_FIELDS } from "../../src/accounts.ts";
import { backendFields, backendProblem } from "../../src/backend/options.ts";
import { bufferingFields } from "../../src/buffer/options.ts";
import type { GatewaySchema, InputOf, Schema, ValidatedOf } from "../../src/config-schema.ts";
import { routeFields } from "../route/fields.ts";

/**
 * "module:attr", attr a dotted name; ":attr" may be left out (Gunicorn's
 * default, `application`); "module:create_app()" calls an application
 * factory without arguments, as Gunicorn 20.1 does.
 */
const APP = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\(\))?)?$/;

/**
 * The shared backend keys that apply: the workers are the backends (no
 * `backend`), each serves `threads` connections (no `max_conns`), and
 * `timeout` replaces first_byte_timeout and idle_timeout. A worker that
 * stops answering is found by `timeout` and replaced, so no `health` either.
 */
const { backend: _backend, max_conns: _maxConns, first_byte_timeout: _firstByte, idle_timeout: _idle, health: _health, ...sharedBackendFields } = backendFields;

const wsgiFields = {
  app: { type: "string", required: true, doc: 'the application, `"module:attr"` (`attr` defaults to `application` and may be dotted: `"pkg.web:create.app"`), imported by each worker; `"module:create_app()"` calls an application factory without arguments, as Gunicorn does' },
  workers: { type: "integer", default: 1, min: 1, max: 1024, doc: "worker processes, each listening on its own private socket (Gunicorn's `-w`); SIGTTIN and SIGTTOU add and remove one" },
  threads: { type: "integer", default: 1, min: 1, max: 1024, doc: "requests one worker serves at once, each in a thread (Gunicorn's `--threads`): postern sends a worker no more than this many, so the route serves `workers` × `threads` at once" },
  timeout: {
    type: "duration",
    default: 30_000,
    min: 0,
    doc: "a worker that takes longer than this to begin an answer, or pauses longer within one, has its threads' stacks written to the log, is killed a second later and replaced; that request gets 504, the worker's other requests in flight 502. It also bounds a worker's boot (the import of the app), as Gunicorn's does. `0`: no timeout (a boot may then take 30 s)",
  },
  max_requests: { type: "integer", default: 0, min: 0, doc: "a worker is replaced after this many requests: its replacement starts and serves first, then the old one finishes its requests and gets SIGTERM, so no request fails. `0`: never" },
  max_requests_jitter: { type: "integer", default: 0, min: 0, doc: "each worker's `max_requests` is raised by a random number from 0 to this, so that workers are not all replaced at once" },
  max_worker_memory: { type: "size", default: 0, min: 0, doc: "a worker whose resident memory (VmRSS, checked every second) passes this is replaced the same way (uWSGI's `reload-on-rss`). `0`: no limit. Linux only" },
  chdir: { type: "string", doc: "directory the workers run in, first on `sys.path` (Gunicorn's `--chdir`); by default postern's own. A relative one is taken from the config file's directory" },
  pythonpath: { type: "string[]", default: [], doc: "directories added to `sys.path` (Gunicorn's `--pythonpath`), relative ones taken from the config file's directory" },
  python: { type: "string", default: "python3", doc: "the interpreter: a name looked up on the workers' `PATH`, or a path (with a `/`; a relative one is taken from the config file's directory, such as `\".venv/bin/python\"`)" },
  pass_env: { type: "string[]", default: ["PATH"], doc: "variables of postern's own environment the workers get; nothing else of it (Gunicorn passes its whole environment)" },
  env: { type: "env", default: {}, doc: "environment of the workers, set after `pass_env`" },
  ...sharedBackendFields,
  ...bufferingFields,
  max_response_header_size: { type: "size", default: 64 * 1024, min: 1024, doc: "largest header block from the app; beyond it 502" },
  underscores_in_headers: { type: "boolean", default: false, doc: "pass request headers whose names contain `_` (dropped by default, so that `X_Forwarded_For` cannot pose as `X-Forwarded-For`)" },
  // Who the workers run as.
  ...PROCESS_USER_FIELDS,
} as const satisfies Schema;

export const wsgiSchema = {
  fields: { ...routeFields, ...wsgiFields },
  check(options) {
    if (!APP.test(options.app as string)) {
      return { key: "app", message: `must be "module:attr" (a Python module and an attribute of it) or "module:factory()"; found ${JSON.stringify(options.app)}` };
    }
    if (options.chdir === "") return { key: "chdir", message: "must name a directory" };
    if ((options.python as string) === "") return { key: "python", message: "must name the interpreter" };
    return backendProblem(options);
  },
} as const satisfies GatewaySchema;

/** What `wsgi({...})` takes. */
export type WsgiInput = InputOf<typeof wsgiFields>;

export type WsgiOptions = ValidatedOf<typeof wsgiFields>;
