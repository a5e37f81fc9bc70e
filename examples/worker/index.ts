// postern as a Cloudflare Worker (wrangler.toml at the top of the repository):
// the same gateways as on Node, Deno and Bun, in a plain hono app. PHP pages
// go to a FastCGI backend over TCP (cloudflare:sockets), /wasi/* runs the
// example WASI module bundled with the Worker, and the demo's static files
// come from the assets binding. `npx wrangler dev` serves it locally.

import { Hono } from "hono";
import { fastcgi, getPath, registerWasmModules, wasi } from "postern";
import probe from "../wasi/probe.wasm";

// workerd compiles no WebAssembly at run time: the bundle imports the module, routes name it.
registerWasmModules({ "probe.wasm": probe });

interface Env {
  /** Where the FastCGI backend (php-fpm) listens, host:port. */
  FASTCGI_BACKEND: string;
  /** The document root as the backend sees it: SCRIPT_FILENAME = root + path. */
  FASTCGI_ROOT: string;
}

// Routes match the normal path (postern's getPath): "//php/x.php" is a PHP page, not a miss.
const app = new Hono<{ Bindings: Env }>({ getPath });

app.all("/wasi/*", wasi({ module: "probe.wasm", timeout: "5s" }));

// The backend's address is a binding, known from the first request on.
let php: ReturnType<typeof fastcgi> | undefined;
app.all("/php/*", (c, next) => {
  php ??= fastcgi({ backend: c.env.FASTCGI_BACKEND, root: c.env.FASTCGI_ROOT });
  return php(c, next);
});

export default app;
