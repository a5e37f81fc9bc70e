// The keys every route takes, whatever its gateway: what the route modules
// (gateways/route/index.ts) read. Each gateway's schema spreads them into
// its own, so that postern.toml and the library's `fastcgi({...})` take
// them alike, checked and typed the same way. Each module declares its keys
// in its own file; this file only gathers them.

import type { Schema } from "../../src/config-schema.ts";
import { authFields } from "./auth/fields.ts";
import { compressFields } from "./compress/fields.ts";
import { headersFields } from "./headers.ts";

export const routeFields = {
  ...authFields,
  ...headersFields,
  ...compressFields,
} as const satisfies Schema;

/** Keys of route modules' tables that hold a file path, taken from the config file's directory as gateways' pathKeys are. */
export const routePathKeys: readonly (readonly [table: string, key: string])[] = [
  ["auth", "htpasswd"],
];
