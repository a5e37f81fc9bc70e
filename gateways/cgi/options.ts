// The keys of a `gateway = "cgi"` route (postern.toml) and of the `cgi({...})`
// options: one schema, one set of names.

import { indexNamesProblem } from "../root-names.ts";
import { PROCESS_USER_FIELDS } from "../../src/accounts.ts";
import { bufferingFields } from "../../src/buffer/options.ts";
import type { GatewaySchema, InputOf, ValidatedOf } from "../../src/config-schema.ts";

export const cgiSchema = {
  fields: {
    root: { type: "string", required: true, doc: "directory the scripts are in: the script of /a/b.cgi is root + /a/b.cgi" },
    index: { type: "string[]", default: [], doc: 'scripts tried for a path that names a directory, e.g. ["index.cgi"]' },
    interpreters: {
      type: "env",
      default: {},
      doc: 'extension -> program that runs the script (lighttpd cgi.assign), e.g. { ".pl" = "perl", ".py" = "python3" }; other files run themselves',
    },
    executable_only: { type: "boolean", default: false, doc: "run only files with an execute bit, even those with an interpreter" },
    pass_env: { type: "string[]", default: ["PATH"], doc: "variables of the gateway's own environment passed to scripts; nothing else of it is" },
    env: { type: "env", default: {}, doc: "extra variables for every script, set last" },
    timeout: { type: "duration", default: 60_000, min: 1, doc: "longest a script may run; then it is stopped and the answer is 504 (or cut short once started)" },
    kill_grace: { type: "duration", default: 2_000, min: 0, doc: "after SIGTERM, how long a script's process group has before SIGKILL" },
    max_procs: { type: "integer", default: 64, min: 1, doc: "scripts running at once; more requests wait" },
    max_queue: { type: "integer", default: 1024, min: 0, doc: "requests that may wait for a slot; beyond it 503" },
    queue_timeout: { type: "duration", default: 30_000, min: 1, doc: "longest wait for a slot before 503" },
    ...bufferingFields,
    max_response_header_size: { type: "size", default: 64 * 1024, min: 1024, doc: "largest header block a script may print; beyond it 502" },
    max_stderr: { type: "size", default: 8 * 1024, min: 0, doc: "bytes of a script's stderr logged per request; the rest is read and dropped" },
    underscores_in_headers: { type: "boolean", default: false, doc: 'pass request headers whose names contain "_"' },
    spawn_helper: {
      type: "boolean",
      default: true,
      doc: "start scripts through a small native spawner built with the C compiler (`cc`) at startup, much faster than the runtime's own spawn; without `cc` the runtime's spawn is used",
    },
    // Who the scripts run as.
    ...PROCESS_USER_FIELDS,
  },
  check(options) {
    for (const ext of Object.keys(options.interpreters as Record<string, string>)) {
      if (!ext.startsWith(".") || ext.includes("/")) {
        return { key: `interpreters.${ext}`, message: 'keys are file extensions with their dot, e.g. ".pl"' };
      }
    }
    const index = indexNamesProblem(options.index as string[]);
    return index === undefined ? undefined : { key: "index", message: index };
  },
} as const satisfies GatewaySchema;

/** What `cgi({...})` takes. */
export type CgiInput = InputOf<typeof cgiSchema.fields>;

/** The validated keys; those every script gateway has are ScriptRouteOptions'. */
export type CgiOptions = ValidatedOf<typeof cgiSchema.fields>;
