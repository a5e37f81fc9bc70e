// The access_log and error_log keys as postern.toml takes them: "-", "off"
// and a path, the booleans access_log took before, the values refused at
// their line, and a file refused where the runtime has no file system
// (Cloudflare Workers, here the Node runtime without its filesystem).

import { describe, expect, test } from "vitest";
import { createApp, gatewaySchemas } from "../gateways/index.ts";
import { parseConfig } from "../src/config.ts";
import type { Runtime } from "../src/runtime.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { configError } from "./helpers/config-error.ts";

const ROUTE = '[[routes]]\ngateway = "static"\nroot = "/srv"\n';
const parse = (top: string) => parseConfig(`${top}\n${ROUTE}`, "postern.toml", gatewaySchemas);

describe("access_log and error_log", () => {
  test.each([
    ['access_log = "-"', "-"],
    ['access_log = "off"', "off"],
    ['access_log = "logs/access.log"', "logs/access.log"],
    ["access_log = true", "-"],
    ["access_log = false", "off"],
  ])("%s is %j", (top, expected) => {
    expect(parse(top).accessLog).toBe(expected);
  });

  test('error_log = "/var/log/postern/error.log" names a file', () => {
    expect(parse('error_log = "/var/log/postern/error.log"').errorLog).toBe("/var/log/postern/error.log");
  });

  test.each([
    ['# logs\nerror_log = "off"', 2, "error_log", /errors cannot be turned off: give "-" \(stderr\) or a file path/],
    ['access_log = ""', 1, "access_log", /expected "-" \(stdout\), "off" or a file path, found ""/],
    ["error_log = false", 1, "error_log", /expected a string, found boolean false/],
    ["access_log = 1", 1, "access_log", /expected a string, found integer 1/],
  ])("%j is refused at its line", (top, line, key, message) => {
    const error = configError(`${top}\n${ROUTE}`, gatewaySchemas);
    expect(error.line).toBe(line);
    expect(error.key).toBe(key);
    expect(error.message).toMatch(message);
  });

  test.each([
    ['access_log = "access.log"', /^access_log: "access\.log" is a file, and workerd has no file system: give "-" \(the platform's log\) or "off"$/],
    ['error_log = "error.log"', /^error_log: "error\.log" is a file, and workerd has no file system: give "-" \(the platform's log\)$/],
  ])("%s is refused at startup where there are no files", (top, message) => {
    const workerd: Runtime = { ...nodeRuntime, name: "workerd", fs: undefined, spawn: undefined };
    expect(() => createApp(parse(top), workerd, "/")).toThrow(message);
  });
});
