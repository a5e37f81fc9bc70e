// Internal rewrites (`[[rewrites]]`, docs/rewrites.md): the path and query a
// request continues with before routing. The first rule that matches
// rewrites; the list is tried again on the result, until no rule matches or
// a rule gives back what it was given (Apache's per-directory rewriting
// stops the same way), at most MAX_REWRITES times (nginx's limit on a
// rewrite cycle, past which it answers 500). Every result is normalised as a
// client's path is (src/paths.ts), so no rewrite leads outside the tree a
// client's own path could name, and an encoded slash stays under the
// `encoded_slashes` rule.

import { normalizePath, type EncodedSlashes } from "../paths.ts";
import { firstMatch, type Rule } from "./rules.ts";
import { withQuery } from "./substitute.ts";
import type { RewriteOptions } from "./options.ts";

export const MAX_REWRITES = 10;

export type RewriteResult =
  /** No rule matched: the request goes on as it came. */
  | { kind: "unchanged" }
  /** The path and query to route, normalised. */
  | { kind: "rewritten"; target: string }
  /** A rule still matched after MAX_REWRITES rewrites: `target` is the last result, `rule` the one that matched it. */
  | { kind: "loop"; target: string; rule: Rule<RewriteOptions> };

// Only the path and query of a URL made with it are kept. Joined, not
// resolved against it: "//b" (from "/$1" with $1 "/b") stays a path, never
// the authority of a network-path reference (RFC 3986 §4.2).
const ORIGIN = "http://rewrite.invalid";

/**
 * The path and query `rules` make of `target` (a normal path and its
 * query, as routes see it) for `host`; `slashes` is the encoded_slashes rule.
 */
export function rewrite(rules: readonly Rule<RewriteOptions>[], target: string, host: string, slashes: EncodedSlashes): RewriteResult {
  let current = target;
  for (let done = 0; ; done++) {
    const mark = current.indexOf("?");
    const [path, query] = mark < 0 ? [current, ""] : [current.slice(0, mark), current.slice(mark)];
    const hit = firstMatch(rules, path, host);
    if (!hit) return done === 0 ? { kind: "unchanged" } : { kind: "rewritten", target: current };
    const next = normalTarget(withQuery(hit.to, query), slashes);
    if (next === current) return done === 0 ? { kind: "unchanged" } : { kind: "rewritten", target: current };
    if (done === MAX_REWRITES) return { kind: "loop", target: current, rule: hit.rule };
    current = next;
  }
}

/**
 * A rule's result as a request would carry it: parsed as a URL is (WHATWG URL:
 * dot segments, "%2e", characters it percent-encodes), then normalised as a
 * client's path is.
 */
function normalTarget(pathAndQuery: string, slashes: EncodedSlashes): string {
  const url = new URL(ORIGIN + pathAndQuery);
  return normalizePath(url.pathname, slashes) + url.search;
}
