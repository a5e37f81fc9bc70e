// Redirects (`[[redirects]]`, docs/rewrites.md): the status and Location a
// request is answered with when a rule matches its path (lighttpd's
// url.redirect, nginx's `return 301`, Caddy's `redir`). A Location that is a
// path is normalised (RFC 3986 §5.2.4, slashes merged), so a group holding
// "/evil.example" never makes it "//evil.example", a URL of another host.

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
  return { status: hit.rule.options.status, location: to.startsWith("/") ? normalLocation(to) : to, rule: hit.rule };
}

function normalLocation(pathAndQuery: string): string {
  const mark = pathAndQuery.indexOf("?");
  return mark < 0 ? normalizePath(pathAndQuery) : normalizePath(pathAndQuery.slice(0, mark)) + pathAndQuery.slice(mark);
}
