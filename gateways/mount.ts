// Where a route is mounted: SCRIPT_NAME (the mount point) and PATH_INFO (the
// path within it), as RFC 3875 §4.1.13 and §4.1.5 name them, PEP 3333's
// servers set them for a WSGI app and WAGI for a module: for a backend that
// serves a whole path space (a WASI module, a uwsgi, SCGI or WSGI app). A
// route `path = "/py/*"` mounts it at `/py`: `/py/users/1` gives SCRIPT_NAME
// `/py` and PATH_INFO `/users/1`, and the app's own URLs (Flask's url_for)
// then carry the prefix. Parameters are part of the mount (`/u/:id/*` on
// `/u/42/edit` gives `/u/42`). A route `"*"`, or one without a trailing
// `/*`, mounts it at the root: SCRIPT_NAME is empty and PATH_INFO the whole
// path, so an app routes an exact path as it would anywhere.

export interface Mounted {
  scriptName: string;
  pathInfo: string;
}

/** Splits the decoded request `path` by the route's hono `pattern` (its segments before the trailing "/*"). */
export function splitAtRoute(path: string, pattern: string): Mounted {
  if (!pattern.endsWith("/*")) return { scriptName: "", pathInfo: path };
  const depth = pattern.slice(0, -2).split("/").length - 1;
  const scriptName = path.split("/").slice(0, depth + 1).join("/");
  return { scriptName, pathInfo: path.slice(scriptName.length) };
}
