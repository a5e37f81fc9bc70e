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
