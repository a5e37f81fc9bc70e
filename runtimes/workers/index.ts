// postern on Cloudflare Workers: the gateways bound to the Workers Runtime.
// `import { fastcgi } from "postern"` resolves here under the "workerd"
// condition. A Worker exports its hono app (`export default app`): workerd
// serves it; static files come from the Workers assets binding.

import { bindGateways } from "../../gateways/index.ts";
import { workersRuntime } from "./runtime.ts";

export { workersRuntime } from "./runtime.ts";
export { parseConfig, ConfigError, type Config } from "../../src/config.ts";
export { gatewaySchemas } from "../../gateways/index.ts";
export type { CgiInput, FastCgiInput, GatewayHandler, ProxyInput, ScgiInput, StaticInput, UwsgiInput, WasiInput } from "../../gateways/index.ts";
export { getPath } from "../../gateways/request-path.ts";
export { trustedProxies } from "../../gateways/trusted-proxies.ts";

export const { fastcgi, cgi, wasi, uwsgi, scgi, proxy, staticFiles, createApp, configWarnings, registerWasmModules } = bindGateways(workersRuntime);
