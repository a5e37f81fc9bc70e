// The keys of a `gateway = "proxy"` route (postern.toml) and of the
// `proxy({...})` options: the backend keys every backend gateway shares
// (src/backend/options.ts), the buffering front's (src/buffer/options.ts),
// and the proxy's own.

import { backendFields, backendProblem } from "../../src/backend/options.ts";
import { bufferingFields } from "../../src/buffer/options.ts";
import type { GatewaySchema, InputOf, ValidatedOf } from "../../src/config-schema.ts";
import { routeFields } from "../route/fields.ts";
import { backendAddressText } from "./backend-url.ts";

const { backend: _backend, max_conns: _maxConns, ...sharedFields } = backendFields;

export const proxySchema = {
  fields: {
    ...routeFields,
    ...sharedFields,
    backend: {
      type: "string[]",
      required: true,
      doc: 'the HTTP server\'s address, or several, balanced by `balance`: `"http://127.0.0.1:3000"` (port 80 when absent), `"127.0.0.1:3000"`, or `"unix:/run/app.sock"`. No path after the address: the request\'s own path is sent',
    },
    max_conns: {
      type: "integer",
      default: 1024,
      min: 1,
      doc: "requests postern sends each backend at once, each on its own connection (HTTP/1.1 carries one at a time); more wait in postern's queue. An open WebSocket holds one for as long as it lasts",
    },
    ...bufferingFields,
    max_response_header_size: { type: "size", default: 64 * 1024, min: 1024, doc: "largest header block from the backend (and largest chunk-size line, and trailer section); beyond it 502" },
    host_header: {
      type: "string",
      doc: "the `Host` sent to the backend (nginx's `proxy_set_header Host`); by default the client's own. `X-Forwarded-Host` and `Forwarded: host=` keep the client's",
    },
    websocket: { type: "boolean", default: true, doc: "pass WebSocket upgrades (`Connection: upgrade`, `Upgrade: websocket`) on to the backend and relay the connection both ways (lighttpd's `proxy.header` `upgrade`, `mod_wstunnel`)" },
  },
  check(options) {
    for (const [i, entry] of (options.backend as string[]).entries()) {
      const text = backendAddressText(entry);
      if (typeof text === "object") return { key: `backend[${i}]`, message: text.problem };
    }
    if ((options.backend as string[]).length === 0) return { key: "backend", message: "needs at least one address" };
    const host = options.host_header;
    if (typeof host === "string" && !/^[\x21-\x7e]+$/.test(host)) return { key: "host_header", message: `must be a host[:port] without spaces or control characters; found ${JSON.stringify(host)}` };
    return backendProblem(options);
  },
} as const satisfies GatewaySchema;

/** What `proxy({...})` takes. */
export type ProxyInput = InputOf<typeof proxySchema.fields>;

export type ProxyOptions = ValidatedOf<typeof proxySchema.fields>;
