// The `[metrics]` and `[status]` tables of postern.toml: where the Prometheus
// metrics and the status page are answered, and to whom. Each is off unless
// its table is written; an empty table turns it on with the defaults.

import { parseCidr } from "../http/cidr.ts";
import { SchemaError, type Schema, type ValidatedOf } from "../config-schema.ts";

/** Loopback, IPv4 and IPv6: what a table without `allow` lets in. */
export const LOOPBACK: readonly string[] = ["127.0.0.0/8", "::1/128"];

function endpointSchema(path: string, what: string) {
  return {
    path: { type: "string", default: path, doc: `the path answered with ${what}, before any route (that path exactly, whatever its query string; nothing below it)` },
    allow: {
      type: "string[]",
      default: [...LOOPBACK],
      doc: `addresses and CIDR blocks of the clients shown ${what} (the client as \`trusted_proxies\` make it out); any other gets 403. Loopback only by default`,
    },
  } as const satisfies Schema;
}

export const METRICS_SCHEMA = endpointSchema("/metrics", "the Prometheus metrics");
export const STATUS_SCHEMA = endpointSchema("/server-status", "the status page");

export type EndpointOptions = ValidatedOf<typeof METRICS_SCHEMA>;

/** Every `allow` entry is an address or a block; a path starts with "/"; the two paths differ. Throws a SchemaError naming the key. */
export function checkEndpoints(tables: { metrics?: EndpointOptions; status?: EndpointOptions }): void {
  for (const key of ["metrics", "status"] as const) {
    const table = tables[key];
    if (table === undefined) continue;
    if (!table.path.startsWith("/")) throw new SchemaError([key, "path"], `must start with "/", found ${JSON.stringify(table.path)}`);
    table.allow.forEach((entry, i) => {
      const cidr = parseCidr(entry);
      if (typeof cidr === "string") throw new SchemaError([key, "allow", i], cidr);
    });
  }
  if (tables.metrics && tables.status && tables.metrics.path === tables.status.path) {
    throw new SchemaError(["status", "path"], `is [metrics]'s path too (${JSON.stringify(tables.metrics.path)}): give each its own`);
  }
}
