// The library's options are typed from the gateways' schemas, the same ones
// postern.toml is checked with: an editor completes their keys, and a typo
// or a wrong value is a compile error (`npx tsc --noEmit` checks this file,
// each `@ts-expect-error` fails to compile once its line compiles) as well as
// the error thrown when the call is made anyway.

import { describe, expect, expectTypeOf, test } from "vitest";
import type { FastCgiOptions } from "../gateways/fastcgi/options.ts";
import type { StaticOptions } from "../gateways/static/options.ts";
import type { WsgiOptions } from "../gateways/wsgi/options.ts";
import {
  cgi,
  fastcgi,
  scgi,
  staticFiles,
  uwsgi,
  wasi,
  wsgi,
  type FastCgiInput,
  type GatewayHandler,
  type StaticInput,
  type WasiInput,
} from "../runtimes/node/index.ts";

const backend = "127.0.0.1:9000";

/** Calls as a user writes them: type-checked, never run (they would start processes). */
export function correctCalls(): GatewayHandler[] {
  return [
    fastcgi({ backend, root: "/srv/www" }),
    fastcgi({
      backend: ["127.0.0.1:9000", "unix:/run/php/fpm.sock"],
      root: "/srv/www",
      index: "index.php",
      front_controller: "/index.php",
      balance: "hash",
      hash_key: "client_ip",
      max_body_size: "16m",
      response_buffer: 1024 * 1024,
      queue_timeout: "5s",
      first_byte_timeout: 30,
      health: { path: "/ping", interval: "2s" },
      params: { APP_ENV: "production" },
    }),
    fastcgi({ spawn: { command: ["php-cgi"], procs: 4, env: { PHP_FCGI_CHILDREN: "0" } }, root: "/srv/www", user: "www-data" }),
    cgi({ root: "./cgi-bin", interpreters: { ".pl": "perl" }, timeout: "30s", pass_env: ["PATH", "LANG"] }),
    wasi({ module: "./app.wasm", argv: ["app"], max_memory: "128m", volumes: { "/data": "./data" } }),
    wasi({ module: "./ruby.wasm", interpreter: "ruby", root: "./scripts" }),
    staticFiles({ root: "./public", max_age: "1h", deny_extensions: [".php"] as const }),
    wsgi({ app: "myapp:app", workers: 2, timeout: "30s", max_worker_memory: "512m" }),
    uwsgi({ backend: "127.0.0.1:3031", modifier1: 0 }),
    scgi({ backend: ["127.0.0.1:4000"], env: { MODE: "x" } }),
  ];
}

describe("what a caller writes", () => {
  test("required keys are required, the rest optional; units take numbers or strings; lists one string or many", () => {
    expectTypeOf<FastCgiInput["root"]>().toEqualTypeOf<string>();
    expectTypeOf<FastCgiInput["index"]>().toEqualTypeOf<string | readonly string[] | undefined>();
    expectTypeOf<FastCgiInput["max_body_size"]>().toEqualTypeOf<number | string | undefined>();
    expectTypeOf<FastCgiInput["queue_timeout"]>().toEqualTypeOf<number | string | undefined>();
    expectTypeOf<FastCgiInput["balance"]>().toEqualTypeOf<"least_conn" | "round_robin" | "hash" | undefined>();
    expectTypeOf<NonNullable<FastCgiInput["spawn"]>["command"]>().toEqualTypeOf<string | readonly string[]>();
    expectTypeOf<NonNullable<FastCgiInput["health"]>["interval"]>().toEqualTypeOf<number | string | undefined>();
    expectTypeOf<StaticInput>().toHaveProperty("root");
    expectTypeOf<WasiInput["module"]>().toEqualTypeOf<string>();
    // `env`, the old name of fastcgi's `params`, is still taken.
    expectTypeOf<FastCgiInput["env"]>().toEqualTypeOf<FastCgiInput["params"]>();
  });

  test("a key the gateway does not have is a compile error, and the call names it", () => {
    // @ts-expect-error: `indx` is no fastcgi key.
    expect(() => fastcgi({ backend, root: "/srv/www", indx: ["index.php"] })).toThrow('indx: unknown key for gateway "fastcgi"; did you mean "index"?');
    // @ts-expect-error: `max_body` is no static key.
    expect(() => staticFiles({ root: "/srv/www", max_body: 5 })).toThrow(/^max_body: unknown key for gateway "static"/);
    // @ts-expect-error: `healt` is no wsgi key.
    expect(() => wsgi({ app: "myapp:app", healt: {} })).toThrow(/^healt: unknown key for gateway "wsgi"/);
  });

  test("a value of the wrong type is a compile error, and the call names its key", () => {
    // @ts-expect-error: root is a string.
    expect(() => fastcgi({ backend, root: 5 })).toThrow("root: expected a string, found integer 5");
    // @ts-expect-error: balance is one of three names.
    expect(() => fastcgi({ backend, root: "/srv/www", balance: "random" })).toThrow(/^balance: expected one of "least_conn", "round_robin", "hash"/);
    // @ts-expect-error: a size is a number or a string.
    expect(() => cgi({ root: "/srv/cgi", max_body_size: true })).toThrow(/^max_body_size: expected a size/);
    // @ts-expect-error: a nested table's keys are typed too.
    expect(() => fastcgi({ backend, root: "/srv/www", health: { interval: false } })).toThrow(/^health\.interval: expected a duration/);
  });

  test("a key left undefined, as an optional key's type allows, is taken as absent", () => {
    const unset: string | undefined = undefined;
    const options = { backend, root: "/srv/www", front_controller: unset, user: unset, health: { path: unset } };
    expect(() => fastcgi(options).close()).not.toThrow();
    // The old name with the new one undefined is the old name alone.
    expect(() => fastcgi({ backend, root: "/srv/www", params: undefined, env: { A: "1" } }).close()).not.toThrow();
    // null is no value a key takes, and is named as what it is.
    // @ts-expect-error: root is a string.
    expect(() => fastcgi({ backend, root: null })).toThrow("root: expected a string, found null");
  });

  test("a missing required key is a compile error, and the call names it", () => {
    // @ts-expect-error: static needs root.
    expect(() => staticFiles({ index: "index.html" })).toThrow(/^root: missing required key/);
    // @ts-expect-error: fastcgi needs root.
    expect(() => fastcgi({ backend })).toThrow(/^root: missing required key/);
  });
});

describe("what a gateway receives", () => {
  test("keys with a default are always there, units are numbers, lists arrays", () => {
    expectTypeOf<FastCgiOptions["max_body_size"]>().toEqualTypeOf<number>();
    expectTypeOf<FastCgiOptions["index"]>().toEqualTypeOf<string[]>();
    expectTypeOf<FastCgiOptions["backend"]>().toEqualTypeOf<string[] | undefined>();
    expectTypeOf<FastCgiOptions["front_controller"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<NonNullable<FastCgiOptions["health"]>["interval"]>().toEqualTypeOf<number>();
    expectTypeOf<FastCgiOptions["params"]>().toEqualTypeOf<Record<string, string>>();
    expectTypeOf<FastCgiOptions>().not.toHaveProperty("env");
    expectTypeOf<StaticOptions["max_age"]>().toEqualTypeOf<number>();
    expectTypeOf<WsgiOptions["chdir"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<WsgiOptions>().not.toHaveProperty("backend");
  });
});
