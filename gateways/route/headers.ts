// Response headers set and removed per route, a route module (lighttpd
// mod_setenv's setenv.set-response-header, nginx add_header and
// proxy_hide_header, Caddy's header directive): applied to every answer the
// route gives, error pages included.

import type { Schema } from "../../src/config-schema.ts";
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

/** What is wrong with a route's `headers`, if anything: the key to blame (under the route) and why. */
export function headersProblem(options: Record<string, unknown>): { key: string; message: string } | undefined {
  const rules = options.headers as HeaderRules | undefined;
  if (rules === undefined) return undefined;
  for (const [name, value] of Object.entries(rules.set)) {
    const refusal = nameProblem(name);
    if (refusal) return { key: `headers.set.${name}`, message: refusal };
    // RFC 9110 §5.5: a field value has no CR, LF or NUL, and no white space at its ends.
    if (/[\r\n\0]/.test(value) || value !== value.trim()) {
      return { key: `headers.set.${name}`, message: `${JSON.stringify(value)} is no field value (a line break, NUL, or white space at an end)` };
    }
  }
  for (const name of rules.remove) {
    const refusal = nameProblem(name);
    if (refusal) return { key: "headers.remove", message: refusal };
  }
  return undefined;
}

export const headersModule: RouteModule = {
  wrap(handler, options) {
    const rules = options.headers as HeaderRules | undefined;
    if (rules === undefined) return handler;
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
  if (REFUSED.has(name.toLowerCase())) return `${name} frames the message or belongs to one connection: only postern sets or removes it`;
  return undefined;
}
