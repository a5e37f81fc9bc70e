// The fastcgi route's own checks on postern.toml (gateways/fastcgi/options.ts),
// with the real gateway registry: each refusal names the key and its line.

import { describe, expect, it } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { parseConfig } from "../src/config.ts";
import { configError } from "./helpers/config-error.ts";

const route = (extra: string) => `[[routes]]\ngateway = "fastcgi"\nbackend = "127.0.0.1:9000"\nroot = "/srv"\n${extra}\n`;

const failure = (text: string) => configError(text, gatewaySchemas);

describe("fastcgi route checks", () => {
  it.each(["php", "", ".", "..", ".php/", "php.", ".ph p"])("split_path %j is refused with its key and line", (value) => {
    const error = failure(route(`\nsplit_path = ${JSON.stringify(value)}`));
    expect({ line: error.line, key: error.key }).toEqual({ line: 6, key: "routes[0].split_path" });
    expect(error.message).toContain(`postern.toml:6: routes[0].split_path: must be an extension with its leading dot, such as ".php"; found ${JSON.stringify(value)}`);
  });

  it.each([".php", ".php5", ".phtml", ".blade.php", ".x_y-z"])("split_path %j is an extension", (value) => {
    const config = parseConfig(route(`split_path = ${JSON.stringify(value)}`), "postern.toml", gatewaySchemas);
    expect(config.routes[0]!.options.split_path).toBe(value);
  });
});

describe("balancing keys (src/backend/options.ts)", () => {
  it.each([
    ['balance = "hash"', "balance", 6, '"hash" needs `hash_key`'],
    ['hash_key = "client_ip"', "hash_key", 6, 'applies only with balance = "hash"'],
    ['balance = "random"', "balance", 6, "random"],
    ['balance = "hash"\nhash_key = "ip"', "hash_key", 7, 'must be "client_ip", "header:NAME" or "cookie:NAME"; found "ip"'],
    ['balance = "hash"\nhash_key = "header:"', "hash_key", 7, 'found "header:"'],
    ['balance = "hash"\nhash_key = "cookie:a b"', "hash_key", 7, 'found "cookie:a b"'],
    ["health = { fails = 0 }", "health.fails", 6, "0"],
    ['health = { interval = "soon" }', "health.interval", 6, "soon"],
    ['health = { path = "/ping", pings = 2 }', "health.pings", 6, "unknown key"],
    ['health = { path = "ping" }', "health.path", 6, 'must start with "/"'],
  ])("%s is refused with its key and line", (line, key, at, message) => {
    const error = failure(route(`\n${line}`));
    expect({ line: error.line, key: error.key }).toEqual({ line: at, key: `routes[0].${key}` });
    expect(error.message).toContain(message);
  });

  it.each(["client_ip", "header:X-Tenant", "cookie:PHPSESSID"])("hash_key %j is accepted", (value) => {
    const config = parseConfig(route(`balance = "hash"\nhash_key = "${value}"`), "postern.toml", gatewaySchemas);
    expect(config.routes[0]!.options.hash_key).toBe(value);
  });

  it("health's defaults: /ping every 5 s, 2 s timeout, 200, 1 pass, 2 fails; no health: no checks", () => {
    const config = parseConfig(route("health = {}"), "postern.toml", gatewaySchemas);
    expect(config.routes[0]!.options.health).toEqual({ path: "/ping", interval: 5_000, timeout: 2_000, status: 200, passes: 1, fails: 2 });
    expect(parseConfig(route(""), "postern.toml", gatewaySchemas).routes[0]!.options.health).toBeUndefined();
    expect(parseConfig(route(""), "postern.toml", gatewaySchemas).routes[0]!.options.balance).toBe("least_conn");
  });
});

describe("keys naming files inside a root may not climb out of it", () => {
  const routeOf = (gateway: string, extra: string) => `[[routes]]\ngateway = "${gateway}"\n${gateway === "fastcgi" ? 'backend = "127.0.0.1:9000"\n' : ""}root = "/srv"\n${extra}\n`;

  it.each([
    ["fastcgi", 'front_controller = "/../../etc/passwd"', "front_controller", 'may not contain "." or ".." segments'],
    ["fastcgi", 'front_controller = "/app/./index.php"', "front_controller", 'may not contain "." or ".." segments'],
    ["fastcgi", 'index = ["../x.php"]', "index", "entries are file names"],
    ["static", 'index = ["../x.html"]', "index", "entries are file names"],
    ["static", 'index = [".."]', "index", "entries are file names"],
    ["cgi", 'index = ["a/index.cgi"]', "index", "entries are file names"],
  ])("%s %s is refused with its key and line", (gateway, line, key, message) => {
    const error = failure(routeOf(gateway, line));
    expect(error.key).toBe(`routes[0].${key}`);
    expect(error.line).toBe(gateway === "fastcgi" ? 5 : 4);
    expect(error.message).toContain(message);
  });

  it.each([
    ["fastcgi", 'front_controller = "/index.php"'],
    ["fastcgi", 'index = ["index.php", "default.php"]'],
    ["static", 'index = ["index.html", ".index.htm"]'],
  ])("%s %s is accepted", (gateway, line) => {
    expect(parseConfig(routeOf(gateway, line), "postern.toml", gatewaySchemas).routes).toHaveLength(1);
  });
});
