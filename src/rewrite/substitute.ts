// What a `[[rewrites]]` or `[[redirects]]` rule makes of a matched path: its
// `to` with `$0`…`$9` replaced by the match's groups (lighttpd's
// url.rewrite-once and url.redirect, nginx's `rewrite`), and the client's
// query carried over as nginx's `rewrite` carries it.

/** `$0` (the whole match) to `$9`: one digit, so `$10` is `$1` then "0", as lighttpd reads it. */
const REFERENCE = /\$([0-9])/g;

/** `to` with each `$N` replaced by group N of `match` ("" for a group that took no part, or a number past the last). */
export function substitute(to: string, match: RegExpExecArray): string {
  return to.replace(REFERENCE, (_, n: string) => match[Number(n)] ?? "");
}

/**
 * The path and query a rule's substituted `to` makes of a request whose
 * query is `query` ("" for none, else from "?" on). As nginx's `rewrite`
 * does: a `to` without "?" keeps the client's query; one with a query of its
 * own puts the client's after it, joined by "&"; one ending in "?" drops it.
 */
export function withQuery(to: string, query: string): string {
  if (to.endsWith("?")) return to.slice(0, -1);
  if (!to.includes("?")) return to + query;
  return query.length > 1 ? `${to}&${query.slice(1)}` : to;
}
