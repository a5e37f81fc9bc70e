// The keys of a `gateway = "fastcgi"` route (postern.toml) and of the
// `fastcgi({...})` options: one schema, one set of names.

import { indexNamesProblem, rootPathProblem } from "../root-names.ts";
import { PROCESS_USER_FIELDS } from "../../src/accounts.ts";
import { backendFields, backendProblem } from "../../src/backend/options.ts";
import { bufferingFields } from "../../src/buffer/options.ts";
import type { Flat, GatewaySchema, InputOf, ValidatedOf } from "../../src/config-schema.ts";
import { routeFields } from "../route/fields.ts";
import { extensionsDoc, fallthroughDoc, scriptDoc, scriptRouteProblem } from "../script-mount.ts";
import { stripPrefixField } from "../rooted-path.ts";
import { xSendfileField, xSendfileProblem } from "../sendfile.ts";
import { followSymlinksField } from "../symlinks.ts";
import { vhostRootField, vhostRootProblem } from "../vhost-root.ts";

/** A file extension with its leading dot: ".php", ".php5", ".blade.php". */
const SCRIPT_EXTENSION = /^(\.[A-Za-z0-9_-]+)+$/;

export const fastcgiSchema = {
  fields: {
    ...routeFields,
    ...backendFields,
    spawn: {
      type: {
        table: {
          command: { type: "string[]", required: true, doc: "the backend's command line, such as `[\"php-cgi\"]`: `\"{socket}\"` in it is replaced by the socket path, otherwise `-b SOCKET` is appended (as php-cgi expects); the program is looked up on `PATH` as `user` would find it" },
          procs: { type: "integer", default: 1, min: 1, max: 256, doc: "processes started, each on its own private unix socket and serving one connection at a time (lighttpd's `max-procs`)" },
          env: { type: "env", default: {}, doc: "their environment besides `PATH`; nothing else of postern's own reaches them. `PHP_FCGI_MAX_REQUESTS` is `\"0\"` unless set here" },
        },
      },
      doc: "start and supervise the backend processes instead of connecting to `backend` (the two exclude each other): `{ command = [...], procs = N, env = {...} }`",
    },
    root: { type: "string", required: true, doc: "document root: `SCRIPT_FILENAME` = root + script path (the whole request path, or the path after the route's prefix with `strip_prefix`)" },
    index: { type: "string[]", default: ["index.php"], doc: "scripts tried, under the path, when the path has no script segment (`/blog/` runs `/blog/index.php`)" },
    split_path: { type: "string", default: ".php", doc: 'extension, with its leading dot, that ends the script part of the path; the rest is `PATH_INFO` (`"php"` without the dot is refused: it would also end `/uploads/notes-php`)' },
    front_controller: { type: "string", doc: "script run, with the original `REQUEST_URI`, when the path names no script file, such as `\"/index.php\"` (nginx's `try_files $uri /index.php?$query_string`)" },
    strip_prefix: stripPrefixField,
    follow_symlinks: followSymlinksField,
    x_sendfile: xSendfileField,
    vhost_root: vhostRootField,
    script: { type: "string", doc: scriptDoc("/wp-login.php") },
    extensions: { type: "string[]", doc: extensionsDoc("fastcgi") + "; they replace `split_path`" },
    fallthrough: { type: "boolean", default: false, doc: fallthroughDoc },
    ...bufferingFields,
    max_response_header_size: { type: "size", default: 64 * 1024, min: 1024, doc: "largest CGI header block from the backend; beyond it 502" },
    underscores_in_headers: { type: "boolean", default: false, doc: "pass request headers whose names contain `_` (dropped by default, so that `X_Forwarded_For` cannot pose as `X-Forwarded-For`)" },
    params: { type: "env", default: {}, doc: "extra FastCGI params (nginx's `fastcgi_param`), set last: they override the CGI variables postern sets. Formerly `env`" },
    env: { type: "env", aliasOf: "params", doc: "the old name of `params`, still read as `params` (`postern check` warns about it; both at once is an error): renamed so that it no longer shares a word with `spawn.env`, a process environment" },
    // Who the spawned backends run as.
    ...PROCESS_USER_FIELDS,
  },
  check(options) {
    if (options.backend === undefined && options.spawn === undefined) {
      return { key: "backend", message: "a fastcgi route needs `backend` or `spawn`" };
    }
    if (options.backend !== undefined && options.spawn !== undefined) {
      return { key: "spawn", message: "`backend` and `spawn` exclude each other" };
    }
    const spawn = options.spawn as { command: string[] } | undefined;
    if (spawn && (spawn.command.length === 0 || spawn.command[0] === "")) {
      return { key: "spawn.command", message: "needs the program to run, e.g. [\"php-cgi\"]" };
    }
    if (spawn && typeof options.max_conns === "number" && options.max_conns > 1) {
      return { key: "max_conns", message: "a spawned process serves one connection at a time; use spawn.procs for more" };
    }
    const backend = backendProblem(options);
    if (backend !== undefined) return backend;
    for (const key of ["user", "group"]) {
      if (options[key] !== undefined && !spawn) return { key, message: "applies to backends postern starts itself (`spawn`)" };
    }
    const fc = typeof options.front_controller === "string" ? rootPathProblem(options.front_controller) : undefined;
    if (fc !== undefined) return { key: "front_controller", message: fc };
    const mount = scriptRouteProblem(options, ["front_controller"]) ?? xSendfileProblem(options);
    if (mount !== undefined) return mount;
    const vhost = typeof options.vhost_root === "string" ? vhostRootProblem(options.vhost_root) : undefined;
    if (vhost !== undefined) return { key: "vhost_root", message: vhost };
    const index = indexNamesProblem(options.index as string[]);
    if (index !== undefined) return { key: "index", message: index };
    // Without its dot, "php" would also end segments such as "/uploads/notes-php" and
    // hand files that are not scripts to the backend (the cgi.fix_pathinfo class of bugs).
    for (const [key, list] of [["split_path", [options.split_path]], ["extensions", options.extensions ?? []]] as const) {
      for (const split of list as unknown[]) {
        if (typeof split === "string" && !SCRIPT_EXTENSION.test(split)) {
          return { key, message: `must be an extension with its leading dot, such as ".php"; found ${JSON.stringify(split)}` };
        }
      }
    }
    return undefined;
  },
} as const satisfies GatewaySchema;

type Fields = typeof fastcgiSchema.fields;

/** What `fastcgi({...})` takes; editors strike `env` through, as the old name it is. */
export type FastCgiInput = Flat<
  Omit<InputOf<Fields>, "env"> & {
    /** @deprecated The old name of `params`. */
    env?: InputOf<Fields>["env"];
  }
>;

export type FastCgiOptions = ValidatedOf<Fields>;
