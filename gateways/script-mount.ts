// The keys the script routes (cgi, fastcgi) share for what part of the URL
// space they take: `script` (the whole mount is one script, Apache's
// ScriptAlias), `extensions` (only script files, lighttpd's
// `fastcgi.server = (".php" => ...)` and `cgi.assign`), `fallthrough` (a
// request they have no script for goes to the next route). Their docs and
// their cross-key checks are written once here.

import { rootPathProblem } from "./root-names.ts";

export function scriptDoc(example: string): string {
  return `one script that every request of the route runs, as Apache's \`ScriptAlias\`: a path from \`root\`, such as \`"${example}"\`. \`SCRIPT_NAME\` is the route's fixed prefix (the part of \`path\` before its trailing \`/*\`) and \`PATH_INFO\` the rest: under \`/app/*\`, \`/app/repo/tree\` gives \`SCRIPT_NAME\` \`/app\` and \`PATH_INFO\` \`/repo/tree\``;
}

export function extensionsDoc(gateway: string): string {
  const found = gateway === "cgi" ? "the first file on the path, or a directory's index script," : "the script the path names (split at the first segment ending in one of them, so `/lib/exe/css.php` and `/index.php/some/path`), a directory's index script or the front controller";
  return `the route takes only scripts with these extensions (lighttpd's \`".php" => ...\`), such as \`[".php"]\`: ${found} must end in one; any other request goes on to the next route, as if the route's \`path\` had not matched`;
}

export const fallthroughDoc =
  "hand a request the route has no script for (no file, a directory without an index script, a file that may not run) to the next route, as the static route's key of the same name; `false` (the default) answers 404 (403). A directory asked without its trailing slash is answered 301 to it with the slash either way";

/** What is wrong with `script` and the keys it excludes (`others`, those set); undefined when nothing is. */
export function scriptRouteProblem(options: Record<string, unknown>, others: readonly string[]): { key: string; message: string } | undefined {
  const script = options.script;
  if (typeof script !== "string") return undefined;
  const problem = rootPathProblem(script);
  if (problem !== undefined) return { key: "script", message: problem };
  for (const key of ["extensions", ...others]) {
    if (options[key] !== undefined) return { key, message: "a route with `script` runs that script for every request: it takes no `" + key + "`" };
  }
  return undefined;
}
