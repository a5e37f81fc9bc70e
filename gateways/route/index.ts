// Route modules: what a route does around its gateway, whatever the gateway
// (lighttpd's mod_auth, mod_deflate, mod_setenv sit the same way around its
// mod_fastcgi or mod_cgi). Each module reads its own route keys
// (gateways/route/fields.ts) and wraps the route's handler; a route that
// does not use a module's keys gets its handler back unchanged.

import type { Runtime } from "../../src/runtime.ts";
import type { GatewayHandler } from "../handler.ts";
import { hostModule } from "./host.ts";
import { authModule } from "./auth/index.ts";
import { compressModule } from "./compress/index.ts";
import { headersModule } from "./headers.ts";

/** What a module knows of the route it wraps. */
export interface RouteContext {
  runtime: Runtime;
  /** The route as messages name it: `routes[2] (fastcgi /app/*)`, or the gateway's name for a handler made in code. */
  name: string;
}

export interface RouteModule {
  /** `handler` with the module around it, or `handler` itself when `options` do not use the module. */
  wrap(handler: GatewayHandler, options: Record<string, unknown>, route: RouteContext): GatewayHandler;
  /** What `postern check` finds wrong with the module's keys, as a SetupError (src/check/problems.ts), without serving. */
  check?(options: Record<string, unknown>, route: RouteContext): Promise<void>;
}

/**
 * The modules, outermost first: a request meets them in this order before
 * the gateway, and the answer meets them in the reverse order after it.
 */
const routeModules: readonly RouteModule[] = [
  hostModule,
  authModule,
  headersModule,
  compressModule,
];

/** `handler` inside every module its route's `options` use. */
export function withRouteModules(handler: GatewayHandler, options: Record<string, unknown>, route: RouteContext): GatewayHandler {
  return routeModules.reduceRight((inner, module) => module.wrap(inner, options, route), handler);
}

/** Every module's check of a route's `options` (`postern check`); rejects with the first module's SetupError. */
export async function checkRouteModules(options: Record<string, unknown>, route: RouteContext): Promise<void> {
  for (const module of routeModules) await module.check?.(options, route);
}
