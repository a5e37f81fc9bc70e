// The conformance suite's Worker: the app a postern.toml describes (the
// suite's routes, in the POSTERN_TOML binding), with the probe module bundled.

import { createApp, gatewaySchemas, parseConfig, registerWasmModules } from "postern";
import probe from "../../../examples/wasi/probe.wasm";

registerWasmModules({ "probe.wasm": probe });

type App = ReturnType<typeof createApp>["app"];
let app: App | undefined;

export default {
  fetch(request: Request, env: { POSTERN_TOML: string }, ctx: unknown): Response | Promise<Response> {
    app ??= createApp(parseConfig(env.POSTERN_TOML, "postern.toml", gatewaySchemas), "/").app;
    return app.fetch(request, env, ctx as never);
  },
};
