// Where a WSGI app is mounted: PEP 3333 splits the request path into
// SCRIPT_NAME (the app's mount point) and PATH_INFO (the path within the app),
// as RFC 3875 §4.1.13 and §4.1.5 do for a script. A route `path = "/py/*"`
// mounts the app at `/py`: `/py/users/1` gives SCRIPT_NAME `/py` and
// PATH_INFO `/users/1`, and the app's own URLs (Flask's url_for) then carry
// the prefix. A route `"*"`, or one without a trailing `/*`, mounts it at the
// root: SCRIPT_NAME is empty and PATH_INFO the whole path.

export interface Mounted {
  scriptName: string;
  pathInfo: string;
}

/** Splits the decoded request `path` by the route's hono `pattern` (its segments before the trailing "/*", parameters included). */
export function splitMount(pattern: string, path: string): Mounted {
  if (!pattern.endsWith("/*")) return { scriptName: "", pathInfo: path };
  const depth = pattern.slice(0, -2).split("/").length - 1;
  const segments = path.split("/");
  const scriptName = segments.slice(0, depth + 1).join("/");
  return { scriptName, pathInfo: path.slice(scriptName.length) };
}
