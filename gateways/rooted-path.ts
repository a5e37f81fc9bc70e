// Which path under its root a route with one (static, cgi, fastcgi) looks a
// request up by. By default the whole request path, as nginx's `root` and
// lighttpd's document root: `/legacy/x.php` is root + `/legacy/x.php`. With
// `strip_prefix`, the part after the route's fixed prefix, as nginx's `alias`,
// lighttpd's `alias.url` and Caddy's `handle_path`: under a `/legacy/*` route
// it is root + `/x.php`. The prefix is kept in what the app is told of its own
// URL (SCRIPT_NAME `/legacy/x.php`, as nginx's $fastcgi_script_name and
// lighttpd give it), so that the links an app makes from SCRIPT_NAME or
// PHP_SELF lead back to it; Caddy's handle_path rewrites the URL itself, and
// the app then makes links without its prefix.

import type { Field } from "../src/config-schema.ts";
import { splitAtRoute } from "./mount.ts";

export interface RootedPath {
  /** The route's fixed prefix stripped off ("" when nothing is): what SCRIPT_NAME starts with. */
  mount: string;
  /** The path looked up under the root, "/..." or "" (the mount itself, asked without its slash). */
  path: string;
}

/** `path` (decoded, checked by safePath) for a route whose hono pattern is `pattern`. */
export function rootedPath(path: string, pattern: string, stripPrefix: boolean): RootedPath {
  if (!stripPrefix) return { mount: "", path };
  const { scriptName, pathInfo } = splitAtRoute(path, pattern);
  return { mount: scriptName, path: pathInfo };
}

/** The `strip_prefix` key of the routes with a root. */
export const stripPrefixField = {
  type: "boolean",
  default: false,
  doc: "look files up by the path after the route's fixed prefix (the part of `path` before its trailing `/*`), as nginx's `alias` and Caddy's `handle_path`: under `/legacy/*` with `root = \"/srv/legacy\"`, `/legacy/x.php` is `/srv/legacy/x.php`. `false` (the default) looks up the whole request path. The prefix stays in `SCRIPT_NAME` (`/legacy/x.php`), so that an app's own links carry it",
} as const satisfies Field;
