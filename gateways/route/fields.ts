// The keys every route takes, whatever its gateway: what the route modules
// (gateways/route/index.ts) read. Each gateway's schema spreads them into
// its own, so that postern.toml and the library's `fastcgi({...})` take
// them alike, checked and typed the same way. Each module declares its keys
// in its own file; this file only gathers them.

import type { GatewaySchema, Schema } from "../../src/config-schema.ts";
import { authFields } from "./auth/fields.ts";
import { compressFields, compressTypesProblem } from "./compress/fields.ts";
import { headersFields, headersProblem } from "./headers.ts";
import { hostFields } from "./host.ts";

export const routeFields = {
  ...hostFields,
  ...authFields,
  ...headersFields,
  ...compressFields,
} as const satisfies Schema;

/** Keys of route modules' tables that hold a file path, taken from the config file's directory as gateways' pathKeys are. */
export const routePathKeys: readonly (readonly [table: string, key: string])[] = [
  ["auth", "htpasswd"],
];

/** The checks of the route fields' values that their types cannot say, each giving the key to blame and why. */
const routeChecks: readonly ((options: Record<string, unknown>) => { key: string; message: string } | undefined)[] = [headersProblem, compressTypesProblem];

/** `schema` whose check also checks the route fields: so that postern.toml and `fastcgi({...})` refuse the same values. */
export function withRouteChecks(schema: GatewaySchema): GatewaySchema {
  return {
    fields: schema.fields,
    check: (options) => routeChecks.reduce<ReturnType<NonNullable<GatewaySchema["check"]>>>((found, check) => found ?? check(options), undefined) ?? schema.check?.(options),
  };
}
