// The keys of a `gateway = "respond"` route: a fixed answer for a path, such
// as the 403 or 404 that keeps clients out of an application's private
// directories (lighttpd's url.access-deny, nginx's `deny all` / `return`,
// Caddy's `respond`). Redirections are [[redirects]]' job: 1xx and 3xx are
// refused here.

import type { GatewaySchema, InputOf, ValidatedOf } from "../../src/config-schema.ts";
import { routeFields } from "../route/fields.ts";

export const respondSchema = {
  fields: {
    ...routeFields,
    status: {
      type: "integer",
      default: 403,
      min: 200,
      max: 599,
      doc: "the status of every answer: `403` by default (lighttpd's `url.access-deny`); `404` hides that anything is there; a 2xx answers with `body`. 3xx is `[[redirects]]`' job",
    },
    body: {
      type: "string",
      doc: "the body, sent as `text/plain; charset=utf-8`; without it an error status sends postern's error page (`403 Forbidden`) and a 2xx none",
    },
  },
  check(options) {
    const status = options.status as number;
    if (status >= 300 && status < 400) return { key: "status", message: `${status}: a redirection is written as a [[redirects]] table, which gives it a Location` };
    return undefined;
  },
} as const satisfies GatewaySchema;

/** What `respond({...})` takes. */
export type RespondInput = InputOf<typeof respondSchema.fields>;

export type RespondOptions = ValidatedOf<typeof respondSchema.fields>;
