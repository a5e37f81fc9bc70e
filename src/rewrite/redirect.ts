// Redirects (`[[redirects]]`, docs/rewrites.md): the status and Location a
// request is answered with when a rule matches its path (lighttpd's
// url.redirect, nginx's `return 301`, Caddy's `redir`). A Location that is a
// path is normalised (RFC 3986 §5.2.4, slashes merged), so a group holding
// "/evil.example" never makes it "//evil.example", a URL of another host.
// A Location that is a URL keeps the host its rule wrote: a group put after
// it ("https://example.com$1") may start the path or query, never lengthen
// the host (".evil.example") or turn it into userinfo ("@evil.example",
// RFC 3986 §3.2.1), the open redirect of CWE-601.

import { normalizePath } from "../paths.ts";
import { firstMatch, type Rule } from "./rules.ts";
import { withQuery } from "./substitute.ts";
import type { RedirectOptions } from "./options.ts";

export interface Redirect {
  status: number;
  location: string;
  rule: Rule<RedirectOptions>;
}

/** Where the first rule matching `path` for `host` sends a request whose query is `query` ("" or from "?" on). */
export function redirect(rules: readonly Rule<RedirectOptions>[], path: string, query: string, host: string): Redirect | undefined {
  const hit = firstMatch(rules, path, host);
  if (!hit) return undefined;
  const to = withQuery(hit.to, query);
  if (to.startsWith("/")) return { status: hit.rule.options.status, location: normalLocation(to), rule: hit.rule };
  // Not the rule's host: the request goes on as if the rule had not matched.
  if (authority(to, AUTHORITY_END) !== authority(hit.rule.options.to, RULE_AUTHORITY_END)) return undefined;
  return { status: hit.rule.options.status, location: to, rule: hit.rule };
}

/** Where the authority of a URL ends (RFC 3986 §3.2), and where the part a rule writes out ends: its first `$N`. */
const AUTHORITY_END = /[/?#]/;
const RULE_AUTHORITY_END = /[/?#$]/;

/** The authority of an absolute URL ("scheme://authority..."), up to `end`. */
function authority(url: string, end: RegExp): string {
  const rest = url.slice(url.indexOf("//") + 2);
  const at = rest.search(end);
  return at < 0 ? rest : rest.slice(0, at);
}

function normalLocation(pathAndQuery: string): string {
  const mark = pathAndQuery.indexOf("?");
  return mark < 0 ? normalizePath(pathAndQuery) : normalizePath(pathAndQuery.slice(0, mark)) + pathAndQuery.slice(mark);
}
