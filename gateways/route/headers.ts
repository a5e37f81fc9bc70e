// Response headers set and removed per route, a route module (lighttpd
// mod_setenv's setenv.set-response-header, nginx add_header and
// proxy_hide_header, Caddy's header directive): applied to every answer the
// route gives, error pages included.

import type { KeyPath } from "../../src/config-locate.ts";
import type { Schema } from "../../src/config-schema.ts";
import { setupError } from "../../src/check/problems.ts";
import { isToken } from "../../src/http/token.ts";
import { changingAnswers, reanswer } from "./answer-module.ts";
import type { RouteModule } from "./index.ts";

export const headersFields = {
  headers: {
    type: {
      table: {
        set: { type: "env", default: {}, doc: 'fields set on every answer, replacing the backend\'s (`{ "X-Frame-Options" = "DENY" }`)' },
        remove: { type: "string[]", default: [], doc: 'fields removed from every answer (`["X-Powered-By"]`)' },
      },
    },
    doc: 'response headers of every answer of the route, error pages included: `{ set = { "X-Frame-Options" = "DENY" }, remove = ["X-Powered-By"] }` (lighttpd `setenv.set-response-header`, nginx `add_header`/`proxy_hide_header`, Caddy `header`). The framing and hop-by-hop fields (`Content-Length`, `Transfer-Encoding`, `Connection`...) are refused: see [Response headers](headers.md)',
  },
} as const satisfies Schema;

/**
 * Fields a route may neither set nor remove: those that frame the message or
 * concern one connection only (RFC 9110 §7.6.1 Connection, §8.6
 * Content-Length, RFC 9112 §6.1 Transfer-Encoding), and those that say how
 * the content is coded or which part of it is sent (§8.4 Content-Encoding,
 * §14.4 Content-Range): a wrong one makes the body unreadable or lets the
 * message be read as two (request smuggling, CWE-444).
 */
const REFUSED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "content-encoding",
  "content-range",
]);

interface HeaderRules {
  set: Record<string, string>;
  remove: string[];
}

export const headersModule: RouteModule = {
  wrap(handler, options, route) {
    const rules = options.headers as HeaderRules | undefined;
    if (rules === undefined) return handler;
    const problem = (key: KeyPath, message: string) => setupError(route.name, ["headers", ...key], message);
    for (const [name, value] of Object.entries(rules.set)) {
      const refusal = nameProblem(name);
      if (refusal) throw problem(["set", name], refusal);
      // RFC 9110 §5.5: a field value has no CR, LF or NUL, and no white space at its ends.
      if (/[\r\n\0]/.test(value) || value !== value.trim()) throw problem(["set", name], `the value ${JSON.stringify(value)} is no valid field value (line breaks, NUL, or white space at an end)`);
    }
    rules.remove.forEach((name, i) => {
      const refusal = nameProblem(name);
      if (refusal) throw problem(["remove", i], refusal);
    });
    const set = Object.entries(rules.set);
    return changingAnswers(handler, (response) => {
      const headers = new Headers(response.headers);
      for (const name of rules.remove) headers.delete(name);
      for (const [name, value] of set) headers.set(name, value);
      return reanswer(response, headers);
    });
  },
};

function nameProblem(name: string): string | undefined {
  if (!isToken(name)) return `${JSON.stringify(name)} is no field name (RFC 9110 §5.1: a token)`;
  if (REFUSED.has(name.toLowerCase())) return `${name} frames the message or belongs to one connection: postern sets it, a route cannot`;
  return undefined;
}
