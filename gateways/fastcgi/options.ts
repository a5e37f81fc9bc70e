// The keys of a `gateway = "fastcgi"` route (postern.toml) and of the
// `fastcgi({...})` options: one schema, one set of names.

import { indexNamesProblem, rootPathProblem } from "../root-names.ts";
import { PROCESS_USER_FIELDS } from "../../src/accounts.ts";
import { backendFields, backendProblem } from "../../src/backend/options.ts";
import { bufferingFields } from "../../src/buffer/options.ts";
import type { GatewaySchema, InputOf, ValidatedOf } from "../../src/config-schema.ts";

/** A file extension with its leading dot: ".php", ".php5", ".blade.php". */
const SCRIPT_EXTENSION = /^(\.[A-Za-z0-9_-]+)+$/;

export const fastcgiSchema = {
  fields: {
    ...backendFields,
    spawn: {
      type: {
        table: {
          command: { type: "string[]", required: true, doc: 'command line of the backend, e.g. ["php-cgi"]; "{socket}" is replaced by its socket path, else "-b SOCKET" is appended' },
          procs: { type: "integer", default: 1, min: 1, max: 256, doc: "processes to run, each on its own socket" },
          env: { type: "env", default: {}, doc: "environment of the processes (besides PATH)" },
        },
      },
      doc: "start and supervise the backend instead of connecting to `backend`",
    },
    root: { type: "string", required: true, doc: "document root: SCRIPT_FILENAME = root + script path" },
    index: { type: "string[]", default: ["index.php"], doc: "scripts tried for a path that names a directory" },
    split_path: { type: "string", default: ".php", doc: 'extension, with its leading dot, that ends the script part of a path; the rest is PATH_INFO' },
    front_controller: { type: "string", doc: 'script run when the path names no script, e.g. "/index.php" (nginx: try_files $uri /index.php)' },
    ...bufferingFields,
    max_response_header_size: { type: "size", default: 64 * 1024, min: 1024, doc: "largest CGI header block from the backend; beyond it 502" },
    underscores_in_headers: { type: "boolean", default: false, doc: 'pass request headers whose names contain "_"' },
    params: { type: "env", default: {}, doc: "extra FastCGI params, set last" },
    env: { type: "env", aliasOf: "params", doc: "the old name of `params`" },
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
    const index = indexNamesProblem(options.index as string[]);
    if (index !== undefined) return { key: "index", message: index };
    // Without its dot, "php" would also end segments such as "/uploads/notes-php" and
    // hand files that are not scripts to the backend (the cgi.fix_pathinfo class of bugs).
    const split = options.split_path;
    if (typeof split === "string" && !SCRIPT_EXTENSION.test(split)) {
      return { key: "split_path", message: `must be an extension with its leading dot, such as ".php"; found ${JSON.stringify(split)}` };
    }
    return undefined;
  },
} as const satisfies GatewaySchema;

type Fields = typeof fastcgiSchema.fields;

/** What `fastcgi({...})` takes; editors strike `env` through, as the old name it is. */
export type FastCgiInput = Omit<InputOf<Fields>, "env"> & {
  /** @deprecated The old name of `params`. */
  env?: InputOf<Fields>["env"];
};

export type FastCgiOptions = ValidatedOf<Fields>;
