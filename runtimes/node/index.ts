// postern on Node: the gateways bound to the Node Runtime, and serve(), which
// starts once their routes are set up.
// `import { fastcgi } from "postern"` resolves here under the "node" condition.

import { bindGateways } from "../../gateways/index.ts";
import { afterSetup } from "../common/serve.ts";
import { nodeRuntime } from "./runtime.ts";
import { serve as serveNow } from "./serve.ts";

export type { Fetchable, RunningServer, ServeOptions } from "./serve.ts";
export { nodeRuntime } from "./runtime.ts";
export { parseConfig, ConfigError, type Config } from "../../src/config.ts";
export { gatewaySchemas } from "../../gateways/index.ts";
export type { BasicAuthInput, CgiInput, FastCgiInput, GatewayHandler, ProxyInput, ScgiInput, StaticInput, UwsgiInput, WasiInput, WsgiInput } from "../../gateways/index.ts";
export { getPath } from "../../gateways/request-path.ts";
export { trustedProxies } from "../../gateways/trusted-proxies.ts";

const bound = bindGateways(nodeRuntime);

export const { fastcgi, cgi, wasi, wsgi, uwsgi, scgi, proxy, staticFiles, basicAuth, createApp, configWarnings, registerWasmModules } = bound;

/**
 * Serves `app` on `options.listen` once every route handler made here (and
 * every createApp's routes) is set up; a setup error rejects it and nothing
 * is bound.
 */
export const serve = afterSetup(bound.gatewaysReady, serveNow);
