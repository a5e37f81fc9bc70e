// Checks of the route keys that name files inside a root (`index`,
// `front_controller`). A name that climbs out of the root is refused at
// request time anyway (src/paths.ts safePath answers 404), but a config that
// asks for it is a mistake to report with its key and line at startup.

/** What is wrong with an `index` list, whose entries are plain file names; undefined when nothing is. */
export function indexNamesProblem(names: readonly string[]): string | undefined {
  for (const name of names) {
    if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
      return `${JSON.stringify(name)}: entries are file names, without / (and not . or ..)`;
    }
  }
  return undefined;
}

/** What is wrong with a path from the root (`front_controller`); undefined when nothing is. */
export function rootPathProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return 'must be a path from the root, starting with "/"';
  // RFC 3986 §5.2.4: dot segments are what a path climbs with.
  if (path.split("/").some((segment) => segment === "." || segment === "..") || path.includes("\0")) {
    return 'may not contain "." or ".." segments';
  }
  return undefined;
}
