// postern on Node: the gateways bound to the Node Runtime, and serve().
// `import { fastcgi } from "postern"` resolves here under the "node" condition.

import { createApp as createAppFor, createGateway } from "../../gateways/index.ts";
import type { Config } from "../../src/config.ts";
import { nodeRuntime } from "./runtime.ts";

export { serve, type RunningServer, type ServeOptions } from "./serve.ts";
export { nodeRuntime } from "./runtime.ts";
export { parseConfig, ConfigError, type Config } from "../../src/config.ts";
export { gatewaySchemas } from "../../gateways/index.ts";

type Options = Record<string, unknown>;

/** A FastCGI route handler: `app.all("*", fastcgi({ backend: "127.0.0.1:9000", root: "/var/www/html" }))`. */
export const fastcgi = (options: Options) => createGateway("fastcgi", nodeRuntime, options);

/** A CGI route handler: `app.all("/cgi-bin/*", cgi({ root: ".", interpreters: { ".pl": "perl" } }))`. */
export const cgi = (options: Options) => createGateway("cgi", nodeRuntime, options);

/** A WASI route handler: `app.all("/app/*", wasi({ module: "./app.wasm" }))`. */
export const wasi = (options: Options) => createGateway("wasi", nodeRuntime, options);

/** A static files route handler: `app.get("*", staticFiles({ root: "./public" }))`. */
export const staticFiles = (options: Options) => createGateway("static", nodeRuntime, options);

/** The app a postern.toml describes, on Node. */
export const createApp = (config: Config, baseDir: string) => createAppFor(config, nodeRuntime, baseDir);
