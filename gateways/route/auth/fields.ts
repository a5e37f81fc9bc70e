// The route keys of authentication (gateways/route/auth/index.ts): `auth`,
// HTTP Basic against an htpasswd file, and `authorizer`, a FastCGI
// Authorizer asked first.

import { backendFields } from "../../../src/backend/options.ts";
import type { Schema, ValidatedOf } from "../../../src/config-schema.ts";

// The authorizer's connection keys are the backend gateways' own (one name and default everywhere).
const { backend, max_conns, max_queue, queue_timeout, keepalive, keepalive_timeout, connect_timeout, first_byte_timeout, idle_timeout, fail_timeout } = backendFields;

const authorizerFields = {
  backend: { ...backend, required: true, doc: "the FastCGI authorizer's address, or several, balanced by the fewest requests in flight" },
  script: { type: "string", required: true, doc: "its `SCRIPT_FILENAME`, an absolute path on the authorizer's side (php-fpm runs no request without one)" },
  max_conns: { ...max_conns, doc: "requests postern sends each authorizer at once, on as many connections; more wait in postern's queue. Unset, learned from its answers as for a `fastcgi` route's backends" },
  max_queue,
  queue_timeout,
  keepalive,
  keepalive_timeout,
  connect_timeout,
  first_byte_timeout,
  idle_timeout,
  fail_timeout,
} as const satisfies Schema;

export const authFields = {
  auth: {
    type: {
      table: {
        htpasswd: { type: "string", required: true, doc: "the user file, as Apache's `htpasswd` writes it (bcrypt `-B`, MD5 `-m`, SHA-1 `-s`), relative to the config file; read again when it changes" },
        realm: { type: "string", default: "Restricted", doc: "the realm the browser shows when it asks for a password (printable ASCII)" },
        allow_plaintext: { type: "boolean", default: false, doc: "take plaintext passwords in the file (`htpasswd -p`); refused otherwise" },
        cache: { type: "duration", default: 0, min: 0, doc: "how long a user and password that passed are remembered, so that the hash is not computed again for every request (lighttpd's `auth.cache`); `0`: never" },
      },
    },
    doc: "HTTP Basic authentication (RFC 7617): `{ htpasswd = \"users.htpasswd\", realm = \"...\" }`. The backend gets `REMOTE_USER` and `AUTH_TYPE = \"Basic\"`, and no `HTTP_AUTHORIZATION` (see docs/auth.md)",
  },
  authorizer: {
    type: { table: authorizerFields },
    doc: "a FastCGI Authorizer asked before the route serves a request (lighttpd's `mode = \"authorizer\"`): `{ backend = ADDR, script = PATH }`; its 200 lets the request through, its `Variable-NAME` fields becoming the backend's variables, any other answer goes to the client (see docs/auth.md)",
  },
} as const satisfies Schema;

export type AuthOptions = ValidatedOf<typeof authFields.auth.type.table>;
export type AuthorizerOptions = ValidatedOf<typeof authorizerFields>;
