// Where a route is mounted: SCRIPT_NAME and PATH_INFO (RFC 3875 §4.1.13,
// §4.1.5) for a backend that serves a whole path space (a WASI module, a
// uwsgi or SCGI app), as WAGI and PEP 3333's servers set them.

/**
 * The pattern's fixed part ("/app" of "/app/*") is the script, the rest of
 * the path its PATH_INFO; a pattern with parameters mounts nothing.
 */
export function splitAtRoute(path: string, routePath: string): { scriptName: string; pathInfo: string } {
  const star = routePath.indexOf("*");
  let prefix = star < 0 ? routePath : routePath.slice(0, star);
  if (prefix.endsWith("/")) prefix = prefix.slice(0, -1);
  if (prefix.includes(":") || !path.startsWith(prefix)) return { scriptName: path, pathInfo: "" };
  return { scriptName: prefix, pathInfo: path.slice(prefix.length) };
}
