// The fastcgi route's own checks on postern.toml (gateways/fastcgi/options.ts),
// with the real gateway registry: each refusal names the key and its line.

import { describe, expect, it } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { ConfigError, parseConfig } from "../src/config.ts";

const route = (extra: string) => `[[routes]]\ngateway = "fastcgi"\nbackend = "127.0.0.1:9000"\nroot = "/srv"\n${extra}\n`;

function failure(text: string): ConfigError {
  try {
    parseConfig(text, "postern.toml", gatewaySchemas);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

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
