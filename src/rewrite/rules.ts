// A list of `[[rewrites]]` or `[[redirects]]` rules, compiled once, and the
// first of them that matches a request (lighttpd's url.rewrite-once and
// url.redirect try their rules in order, the first match wins).

import { hostMatcher } from "../http/host-pattern.ts";
import { substitute } from "./substitute.ts";

export interface RuleOptions {
  match: string;
  to: string;
  host?: string[];
}

export interface Rule<O extends RuleOptions = RuleOptions> {
  /** Its place in the list, for messages: `rewrites[2]`. */
  index: number;
  options: O;
  match: RegExp;
  /** Whether the rule applies to a host (as hostName gives it). */
  forHost(host: string): boolean;
}

/** The rules of validated tables, in order. */
export function compileRules<O extends RuleOptions>(tables: readonly O[]): Rule<O>[] {
  return tables.map((options, index) => {
    const hosts = options.host;
    return { index, options, match: new RegExp(options.match), forHost: hosts === undefined ? () => true : hostMatcher(hosts) };
  });
}

/** The first rule for `host` whose pattern matches `path`, and its `to` with the groups put in. */
export function firstMatch<O extends RuleOptions>(rules: readonly Rule<O>[], path: string, host: string): { rule: Rule<O>; to: string } | undefined {
  for (const rule of rules) {
    if (!rule.forHost(host)) continue;
    const match = rule.match.exec(path);
    if (match) return { rule, to: substitute(rule.options.to, match) };
  }
  return undefined;
}
