// The keys of a `gateway = "static"` route (postern.toml) and of the
// `staticFiles({...})` options: one schema, one set of names.

import { indexNamesProblem } from "../root-names.ts";
import type { GatewaySchema, InputOf, ValidatedOf } from "../../src/config-schema.ts";
import { routeFields } from "../route/fields.ts";
import { stripPrefixField } from "../rooted-path.ts";
import { precompressedFields } from "./precompressed.ts";
import { followSymlinksField } from "../symlinks.ts";
import { vhostRootField, vhostRootProblem } from "../vhost-root.ts";

/**
 * The scripts a backend may run: the extensions PHP runs under Debian's
 * handler (`.ph(ar|p|tml)`, its apache2 php8.2.conf) and those CGI servers
 * conventionally give an interpreter. A static route that cannot see the
 * routes beside it (staticFiles in a hand-written app) leaves such files to
 * the next route.
 */
const SCRIPT_EXTENSIONS = [".php", ".phtml", ".phar", ".pl", ".py", ".rb", ".cgi", ".sh"];

/**
 * What editors and deploys leave beside a script: vim's and emacs's `~`,
 * emacs's `#name#`, nano's `.save`, a hand-made `.bak`, `.orig` or `.old`.
 * Each holds the script's source (its database password) under a name no
 * route runs; nginx, caddy and frankenphp send it as a file.
 */
const BACKUP_SUFFIXES = ["~", "#", ".bak", ".orig", ".save", ".old"];

/** Never served by default: the scripts, and their editors' and deploys' copies. */
export const DENY_EXTENSIONS = SCRIPT_EXTENSIONS.flatMap((ext) => [ext, ...BACKUP_SUFFIXES.map((suffix) => ext + suffix)]);

export const staticSchema = {
  fields: {
    ...routeFields,
    root: { type: "string", required: true, doc: "directory the files are served from: file = root + the whole request path, or the path after the route's prefix with `strip_prefix`" },
    strip_prefix: stripPrefixField,
    follow_symlinks: followSymlinksField,
    vhost_root: vhostRootField,
    index: { type: "string[]", default: ["index.html"], doc: "files tried, in order, for a path that names a directory (there are no listings)" },
    fallthrough: {
      type: "boolean",
      default: true,
      doc: "hand a request no file answers (or one that is not a GET or HEAD) to the next route; `false` answers 404 (405)",
    },
    etag: { type: "boolean", default: true, doc: "send a weak `ETag` and answer `If-None-Match` with 304" },
    max_age: { type: "duration", default: 0, min: 0, doc: "`Cache-Control: public, max-age=N` (whole seconds); `0` sends none" },
    dotfiles: { type: "boolean", default: false, doc: "serve paths with a segment starting with `.` (`/.well-known/` always is)" },
    deny_extensions: {
      type: "string[]",
      default: DENY_EXTENSIONS,
      doc: "files whose names end in one of these (in any letter case) are never served and go on to the next route: the scripts a backend may run, and the backups editors and deploys leave of them (`.php~`, `.php#`, `.php.bak`, `.php.orig`, `.php.save`, `.php.old`). A config's static route also never serves what a script route sharing its root would run; `[]` serves such files",
    },
    ...precompressedFields,
  },
  check(options) {
    for (const ext of options.deny_extensions as string[]) {
      if (!/^\.[^/]*[^./ ]$/.test(ext)) return { key: "deny_extensions", message: `${JSON.stringify(ext)}: entries are file extensions with their dot, e.g. ".php"` };
    }
    const vhost = typeof options.vhost_root === "string" ? vhostRootProblem(options.vhost_root) : undefined;
    if (vhost !== undefined) return { key: "vhost_root", message: vhost };
    const index = indexNamesProblem(options.index as string[]);
    return index === undefined ? undefined : { key: "index", message: index };
  },
} as const satisfies GatewaySchema;

/** What `staticFiles({...})` takes. */
export type StaticInput = InputOf<typeof staticSchema.fields>;

export type StaticOptions = ValidatedOf<typeof staticSchema.fields>;
