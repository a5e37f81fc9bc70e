// The keys of a `gateway = "cgi"` route (postern.toml) and of the `cgi({...})`
// options: one schema, one set of names.

import { indexNamesProblem } from "../root-names.ts";
import { PROCESS_USER_FIELDS } from "../../src/accounts.ts";
import { bufferingFields } from "../../src/buffer/options.ts";
import type { GatewaySchema, InputOf, ValidatedOf } from "../../src/config-schema.ts";
import { routeFields } from "../route/fields.ts";
import { stripPrefixField } from "../rooted-path.ts";
import { xSendfileField, xSendfileProblem } from "../sendfile.ts";
import { followSymlinksField } from "../symlinks.ts";
import { vhostRootField, vhostRootProblem } from "../vhost-root.ts";
import { extensionsDoc, fallthroughDoc, scriptDoc, scriptRouteProblem } from "../script-mount.ts";

export const cgiSchema = {
  fields: {
    ...routeFields,
    root: { type: "string", required: true, doc: "directory the scripts are in: `/a/b.cgi` runs root + `/a/b.cgi` (the whole request path, or the path after the route's prefix with `strip_prefix`)" },
    index: { type: "string[]", default: [], doc: 'scripts tried for a path that names a directory (`["index.cgi"]`); none: 403' },
    interpreters: {
      type: "env",
      default: {},
      doc: "extension → program that runs a script with that extension, as lighttpd's `cgi.assign`: `{ \".pl\" = \"perl\", \".py\" = \"python3\" }`, looked up on `PATH` at startup; other files run themselves when they have an execute bit",
    },
    strip_prefix: stripPrefixField,
    follow_symlinks: followSymlinksField,
    x_sendfile: xSendfileField,
    vhost_root: vhostRootField,
    script: { type: "string", doc: scriptDoc("/cgit.cgi") },
    extensions: { type: "string[]", doc: extensionsDoc("cgi") },
    fallthrough: { type: "boolean", default: false, doc: fallthroughDoc },
    executable_only: { type: "boolean", default: false, doc: "run only files with an execute bit, even those with an interpreter (lighttpd's `cgi.execute-x-only`); others are 403" },
    pass_env: { type: "string[]", default: ["PATH"], doc: "variables of postern's own environment that scripts get; nothing else of it reaches them" },
    env: { type: "env", default: {}, doc: "extra variables for every script, set last" },
    timeout: { type: "duration", default: 60_000, min: 1, doc: "longest a script may run; then its process group gets SIGTERM (SIGKILL after `kill_grace`) and the answer is 504, or cut once it has begun" },
    kill_grace: { type: "duration", default: 2_000, min: 0, doc: "after SIGTERM, how long a script's process group has before SIGKILL" },
    max_procs: { type: "integer", default: 64, min: 1, doc: "CGI processes running at once on this route; more requests wait in its queue (`max_queue`, `queue_timeout`)" },
    max_queue: { type: "integer", default: 1024, min: 0, doc: "requests that may wait for a free slot; beyond it 503 with `Retry-After`" },
    queue_timeout: { type: "duration", default: 30_000, min: 1, doc: "longest wait for a free slot; beyond it 503 with `Retry-After`" },
    ...bufferingFields,
    max_response_header_size: { type: "size", default: 64 * 1024, min: 1024, doc: "largest header block a script may print; beyond it 502" },
    max_stderr: { type: "size", default: 8 * 1024, min: 0, doc: "bytes of a script's stderr logged per request; the rest is read and dropped" },
    underscores_in_headers: { type: "boolean", default: false, doc: "pass request headers whose names contain `_` (dropped by default, so that `X_Forwarded_For` cannot pose as `X-Forwarded-For`)" },
    spawn_helper: {
      type: "boolean",
      default: true,
      doc: "start scripts through postern's native spawner, built with the C compiler (`cc`) when the route starts: much faster than the runtime's own spawn on Node, and it closes inherited descriptors and refuses a directory swapped for a symlink. `false`, or no `cc`, uses the runtime's spawn",
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
    for (const ext of (options.extensions as string[] | undefined) ?? []) {
      if (!ext.startsWith(".") || ext.includes("/")) return { key: "extensions", message: `${JSON.stringify(ext)}: entries are file extensions with their dot, e.g. ".cgi"` };
    }
    const mount = scriptRouteProblem(options, []) ?? xSendfileProblem(options);
    if (mount !== undefined) return mount;
    const vhost = typeof options.vhost_root === "string" ? vhostRootProblem(options.vhost_root) : undefined;
    if (vhost !== undefined) return { key: "vhost_root", message: vhost };
    const index = indexNamesProblem(options.index as string[]);
    return index === undefined ? undefined : { key: "index", message: index };
  },
} as const satisfies GatewaySchema;

/** What `cgi({...})` takes. */
export type CgiInput = InputOf<typeof cgiSchema.fields>;

/** The validated keys; those every script gateway has are ScriptRouteOptions'. */
export type CgiOptions = ValidatedOf<typeof cgiSchema.fields>;
