// The HTTP Basic authentication scheme (RFC 7617): the credentials of an
// Authorization field, and the 401 challenge that asks for them.

import { errorPage } from "../../../src/http/error-page.ts";

export interface Credentials {
  user: string;
  password: string;
}

// RFC 7235 §2.1 / RFC 7617 §2: "Basic" 1*SP token68, here the base64 of user-pass.
const BASIC = /^basic +([A-Za-z0-9+/]+=*) *$/i;
// RFC 7617 §2: a user-id holds no control character (nor ":", which ends it); neither may a password.
const CONTROL = /[\x00-\x1f\x7f]/;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The user and password of an Authorization field, or undefined when there
 * is none or it is not well-formed Basic credentials: base64 of UTF-8 text
 * with a ":" (RFC 7617 §2.1, charset="UTF-8").
 */
export function basicCredentials(field: string | null): Credentials | undefined {
  const match = field === null ? null : BASIC.exec(field);
  if (match === null) return undefined;
  let text: string;
  try {
    text = UTF8.decode(Uint8Array.from(atob(match[1]!), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const colon = text.indexOf(":");
  if (colon < 0 || CONTROL.test(text)) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** RFC 7617 §2: 401 with the challenge, the realm as a quoted-string (RFC 9110 §5.6.4), UTF-8 announced (§2.1). */
export function challenge(realm: string): Response {
  const quoted = realm.replace(/["\\]/g, "\\$&");
  const page = errorPage(401, { headers: { "www-authenticate": `Basic realm="${quoted}", charset="UTF-8"` } });
  return new Response(page.body, { status: 401, headers: page.headers });
}
