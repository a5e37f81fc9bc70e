// A fastcgi route's `params` (extra FastCGI params, set last) reach the
// script; `env`, their old name, still does, with a warning from
// `postern check` (or in the error log, given in code), and both at once are
// refused naming both.

import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { configWarnings, createGateway, gatewaySchemas } from "../gateways/index.ts";
import type { GatewayHandler } from "../gateways/handler.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { parseConfig } from "../src/config.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";

const ROOT = join(import.meta.dirname, "fixtures/php");
const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php8.2-fpm");

const route = (extra: string) => `[[routes]]\ngateway = "fastcgi"\nbackend = "127.0.0.1:9000"\nroot = "/srv/www"\n${extra}\n`;

describe("in postern.toml", () => {
  test("`params` is the key, and `env` is read as it, with a warning at the route's line", async () => {
    expect(parseConfig(route('params = { APP_MODE = "test" }'), "test.toml", gatewaySchemas).routes[0]!.options.params).toEqual({ APP_MODE: "test" });
    const config = parseConfig(`listen = "127.0.0.1:8080"\n\n${route('env = { APP_MODE = "test" }')}`, "test.toml", gatewaySchemas);
    expect(config.routes[0]!.options).toMatchObject({ params: { APP_MODE: "test" } });
    expect(config.routes[0]!.options).not.toHaveProperty("env");
    const warnings = await configWarnings(config, nodeRuntime, "/");
    expect(warnings.map((w) => `${w.line}: ${w.message}`)).toEqual(["3: routes[0].env: the old name of `params`, which it still sets; write `params`"]);
  });

  test("`params` and `env` at once: refused, naming both", () => {
    expect(() => parseConfig(route('params = { A = "1" }\nenv = { B = "2" }'), "test.toml", gatewaySchemas)).toThrow(
      "test.toml:6: routes[0].env: the old name of `params`, given too: write only `params`",
    );
  });

  test("`spawn.env` stays the spawned processes' environment", () => {
    const toml = '[[routes]]\ngateway = "fastcgi"\nroot = "/srv/www"\nspawn = { command = ["php-cgi"], env = { PHP_FCGI_CHILDREN = "0" } }\n';
    const options = parseConfig(toml, "test.toml", gatewaySchemas).routes[0]!.options;
    expect(options).toMatchObject({ spawn: { env: { PHP_FCGI_CHILDREN: "0" } }, params: {} });
  });
});

describe.skipIf(!PHP_FPM)("the library's fastcgi() with php-fpm", () => {
  let fpm: PhpFpm;
  const handlers: GatewayHandler[] = [];
  beforeAll(async () => {
    fpm = await startPhpFpm(PHP_FPM!);
  });
  afterAll(async () => {
    await Promise.all(handlers.map((h) => h.close()));
    await fpm?.stop();
  });

  /** What the script saw in $_SERVER, served through a route with `options`. */
  const seen = async (options: Record<string, unknown>): Promise<Record<string, string>> => {
    const handler = createGateway("fastcgi", nodeRuntime, { backend: [`unix:${fpm.socket}`], root: ROOT, ...options });
    handlers.push(handler);
    const app = new Hono().all("*", handler);
    const response = await app.request("/env.php");
    expect(response.status).toBe(200);
    return ((await response.json()) as { server: Record<string, string> }).server;
  };

  test("`params` reach the script, after the CGI variables", async () => {
    expect(await seen({ params: { APP_MODE: "test", SERVER_SOFTWARE: "mine" } })).toMatchObject({ APP_MODE: "test", SERVER_SOFTWARE: "mine" });
  });

  test("`env`, their old name, still does", async () => {
    expect(await seen({ env: { APP_MODE: "old" } })).toMatchObject({ APP_MODE: "old" });
  });

  test("`env` given in code is warned of in the error log, as postern check warns of it in postern.toml", async () => {
    const errors: string[] = [];
    const runtime = { ...nodeRuntime, logError: (line: string) => errors.push(line) };
    const handler = createGateway("fastcgi", runtime, { backend: [`unix:${fpm.socket}`], root: ROOT, env: { APP_MODE: "old" } });
    handlers.push(handler);
    expect(errors).toEqual(["fastcgi: env: the old name of `params`, which it still sets; write `params`"]);
    errors.length = 0;
    handlers.push(createGateway("fastcgi", runtime, { backend: [`unix:${fpm.socket}`], root: ROOT, params: { APP_MODE: "new" } }));
    expect(errors).toEqual([]);
  });

  test("both at once: refused, naming both", () => {
    expect(() => createGateway("fastcgi", nodeRuntime, { backend: "127.0.0.1:9000", root: ROOT, params: {}, env: {} })).toThrow(
      "env: the old name of `params`, given too: write only `params`",
    );
  });
});
