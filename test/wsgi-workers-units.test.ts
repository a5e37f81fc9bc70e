// The wsgi route without processes: how its path splits a request path into
// SCRIPT_NAME and PATH_INFO (gateways/mount.ts), and the config errors
// of its keys, each naming the key and its line.

import { describe, expect, test } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { splitAtRoute } from "../gateways/mount.ts";
import { parseConfig } from "../src/config.ts";
import { configError } from "./helpers/config-error.ts";

describe("splitAtRoute", () => {
  test.each([
    ["/py/*", "/py/users/7", "/py", "/users/7"],
    ["/py/*", "/py/", "/py", "/"],
    ["/py/*", "/py", "/py", ""],
    ["/a/b/*", "/a/b/c", "/a/b", "/c"],
    ["/u/:id/*", "/u/42/edit", "/u/42", "/edit"],
    ["/*", "/x/y", "", "/x/y"],
    ["*", "/x/y", "", "/x/y"],
    ["/hello", "/hello", "", "/hello"],
  ])("route %s, path %s: SCRIPT_NAME %j, PATH_INFO %j", (pattern, path, scriptName, pathInfo) => {
    expect(splitAtRoute(path, pattern)).toEqual({ scriptName, pathInfo });
  });
});

const route = (keys: string) => `[[routes]]\npath = "/py/*"\ngateway = "wsgi"\n${keys}\n`;

describe("wsgi keys", () => {
  test("defaults", () => {
    const config = parseConfig(route('app = "myapp:app"'), "postern.toml", gatewaySchemas);
    expect(config.routes[0]!.options).toMatchObject({
      app: "myapp:app",
      workers: 1,
      threads: 1,
      timeout: 30_000,
      max_requests: 0,
      max_requests_jitter: 0,
      max_worker_memory: 0,
      pythonpath: [],
      python: "python3",
      pass_env: ["PATH"],
      env: {},
    });
  });

  test.each([
    ['app = "myapp:app"\ntimeout = "2m"\nmax_worker_memory = "512m"\npythonpath = ["lib", "vendor"]', { timeout: 120_000, max_worker_memory: 512 * 1024 ** 2, pythonpath: ["lib", "vendor"] }],
    ['app = "pkg.web:create.app"\ntimeout = 0', { app: "pkg.web:create.app", timeout: 0 }],
    ['app = "wsgi"', { app: "wsgi" }],
    ['app = "myapp:create_app()"', { app: "myapp:create_app()" }],
  ])("%s", (keys, expected) => {
    expect(parseConfig(route(keys), "postern.toml", gatewaySchemas).routes[0]!.options).toMatchObject(expected);
  });

  test.each([
    ["", "app", "missing required key"],
    ['app = "my-app:app"', "app", 'must be "module:attr"'],
    ['app = "myapp:"', "app", 'must be "module:attr"'],
    ['app = "myapp:create_app(1)"', "app", 'must be "module:attr"'],
    ['app = "myapp:app"\nworkers = 0', "workers", ""],
    ['app = "myapp:app"\nthreads = 0', "threads", ""],
    ['app = "myapp:app"\nbackend = ["127.0.0.1:9000"]', "backend", "unknown key"],
    ['app = "myapp:app"\nmax_conns = 4', "max_conns", "unknown key"],
    ['app = "myapp:app"\nfirst_byte_timeout = "5s"', "first_byte_timeout", "unknown key"],
    ['app = "myapp:app"\npython = ""', "python", "must name the interpreter"],
  ])("refused: %s", (keys, key, message) => {
    const err = configError(route(keys), gatewaySchemas);
    expect(err.message).toContain(key);
    expect(err.message).toContain(message);
  });
});
