// The `auth` route key as a hono middleware of its own, for an app written
// in code: `app.use("/admin/*", basicAuth({ htpasswd: "./admin.htpasswd" }))`
// guards whatever the app serves there, a gateway or its own handlers. hono's
// own basicAuth takes a user and password written in code; this one takes an
// htpasswd file and hands REMOTE_USER and AUTH_TYPE on to the gateways.

import type { InputOf } from "../../../src/config-schema.ts";
import type { Runtime } from "../../../src/runtime.ts";
import { gatewayOptions, type GatewayHandler } from "../../handler.ts";
import { authFields } from "./fields.ts";
import { authModule } from "./index.ts";

export type BasicAuthInput = InputOf<typeof authFields.auth.type.table>;

/** A middleware that lets through, to the next handler, the requests whose Basic credentials the file holds; 401 for the others. */
export function basicAuthMiddleware(runtime: Runtime, input: BasicAuthInput): GatewayHandler {
  const auth = gatewayOptions("basicAuth", { fields: authFields.auth.type.table }, input as Record<string, unknown>);
  const pass: GatewayHandler = Object.assign(async (_: unknown, next: () => Promise<void>) => next(), { ready: Promise.resolve(), close: async () => undefined });
  return authModule.wrap(pass, { auth }, { runtime, name: "basicAuth" });
}
