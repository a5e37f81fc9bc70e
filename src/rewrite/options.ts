// The keys of a `[[rewrites]]` and a `[[redirects]]` table (docs/rewrites.md):
// lighttpd's url.rewrite-once and url.redirect, each rule a regular
// expression on the request path, an optional host list, and where it leads.
// A rule that could not work is refused when the config is read, at its line.

import type { Schema, ValidatedOf } from "../config-schema.ts";
import { hostPatternProblem } from "../http/host-pattern.ts";

/** Why `source` is no JavaScript regular expression, or undefined. */
function regexProblem(source: string | number): string | undefined {
  try {
    new RegExp(String(source));
    return undefined;
  } catch (error) {
    return `not a valid regular expression: ${(error as Error).message}`;
  }
}

// RFC 3986 §2: a URL is printable ASCII, anything else percent-encoded.
// Whitespace and control characters would be cut or refused by the URL
// parser, other characters sent raw in a Location field; "#" would start a
// fragment (RFC 3986 §3.5), which a request never has; "\" is a "/" to
// WHATWG URL parsing of http(s) URLs, a separator the path never showed.
const NOT_IN_TO = /[^\x21-\x7e]|[#\\]/u;

function toCharProblem(to: string): string | undefined {
  const bad = NOT_IN_TO.exec(to);
  return bad ? `${JSON.stringify(bad[0])} cannot stand in a URL; percent-encode it` : undefined;
}

/** A rewrite's `to`: a path ("/index.php?q=$1"). */
function rewriteToProblem(value: string | number): string | undefined {
  const to = String(value);
  if (!to.startsWith("/")) return `must be a path starting with "/" (a rewrite stays on this server), found ${JSON.stringify(to)}`;
  return toCharProblem(to);
}

/** A redirect's `to`: a path ("/new/$1") or an absolute http(s) URL. */
function redirectToProblem(value: string | number): string | undefined {
  const to = String(value);
  if (to.startsWith("//")) return `${JSON.stringify(to)} names another host without a scheme: write "https:${to}"`;
  if (!to.startsWith("/") && !/^https?:\/\/[^/?]/i.test(to)) return `must be a path starting with "/" or an http(s) URL, found ${JSON.stringify(to)}`;
  return toCharProblem(to);
}

/** RFC 9110 §15.4: the redirections that name a new URL in Location. */
export const REDIRECT_STATUSES = [301, 302, 303, 307, 308] as const;

function statusProblem(status: string | number): string | undefined {
  return (REDIRECT_STATUSES as readonly (string | number)[]).includes(status) ? undefined : `expected one of ${REDIRECT_STATUSES.join(", ")}, found ${status}`;
}

/** What a rewrite and a redirect both match on. */
const ruleFields = {
  match: {
    type: "string",
    required: true,
    check: regexProblem,
    doc: 'a JavaScript regular expression tried on the request path, normalised (no `..`, no `//`) and still percent-encoded, without the query (`"^/blog/([0-9]+)$"`); `$1`…`$9` in `to` are its groups, `$0` the whole match',
  },
  host: {
    type: "string[]",
    check: hostPatternProblem,
    doc: 'the rule applies only to requests for these hosts (`"example.com"`, `"*.example.org"`, as a route\'s `host`); every host when absent',
  },
} as const satisfies Schema;

export const rewriteFields = {
  ...ruleFields,
  to: {
    type: "string",
    required: true,
    check: rewriteToProblem,
    doc: 'the path the request continues with, before routing (`"/index.php?page=$1"`); without `?` the client\'s query is kept, with one the client\'s is added after it (`&`), ending in `?` it is dropped. `REQUEST_URI` keeps what the client sent',
  },
} as const satisfies Schema;

export const redirectFields = {
  ...ruleFields,
  to: {
    type: "string",
    required: true,
    check: redirectToProblem,
    doc: 'where the client is sent (`Location`): a path (`"/new/$1"`) or an http(s) URL (`"https://example.com/$1"`); the query as for a rewrite',
  },
  status: { type: "integer", default: 301, min: 301, max: 308, check: statusProblem, doc: "the redirection's status: 301 and 308 are permanent, 302, 303 and 307 not; 307 and 308 keep the method and body" },
} as const satisfies Schema;

export type RewriteOptions = ValidatedOf<typeof rewriteFields>;
export type RedirectOptions = ValidatedOf<typeof redirectFields>;
