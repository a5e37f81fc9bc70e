// postern on Bun: the gateways bound to the Bun Runtime, and serve().
// `import { fastcgi } from "postern"` resolves here under the "bun" condition.

import { bindGateways } from "../../gateways/index.ts";
import { bunRuntime } from "./runtime.ts";

export { serve, type RunningServer, type ServeOptions } from "./serve.ts";
export { bunRuntime } from "./runtime.ts";
export { parseConfig, ConfigError, type Config } from "../../src/config.ts";
export { gatewaySchemas } from "../../gateways/index.ts";
export { getPath } from "../../gateways/request-path.ts";
export { trustedProxies } from "../../gateways/trusted-proxies.ts";

export const { fastcgi, cgi, wasi, wsgi, uwsgi, scgi, staticFiles, createApp, configWarnings, registerWasmModules } = bindGateways(bunRuntime);
