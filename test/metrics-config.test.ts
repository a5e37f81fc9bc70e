// The [metrics] and [status] tables of postern.toml: off unless written,
// defaults when empty, and each wrong value refused naming its key and line.

import { describe, expect, test } from "vitest";
import { parseConfig } from "../src/config.ts";
import { gatewaySchemas } from "../gateways/index.ts";
import { RecentErrors } from "../gateways/status/recent-errors.ts";
import { configError } from "./helpers/config-error.ts";

const ROUTE = '[[routes]]\ngateway = "cgi"\nroot = "."\n';
const parse = (text: string) => parseConfig(text + ROUTE, "postern.toml", gatewaySchemas);
const refusal = (text: string) => configError(text + ROUTE, gatewaySchemas).message;

describe("[metrics] and [status]", () => {
  test("off unless written", () => {
    const config = parse("");
    expect(config.metrics).toBeUndefined();
    expect(config.status).toBeUndefined();
  });

  test("an empty table turns each on at its default path, for loopback only", () => {
    const config = parse("[metrics]\n[status]\n");
    expect(config.metrics).toEqual({ path: "/metrics", allow: ["127.0.0.0/8", "::1/128"] });
    expect(config.status).toEqual({ path: "/server-status", allow: ["127.0.0.0/8", "::1/128"] });
  });

  test("an allow entry that is no address or block is refused at its line", () => {
    expect(refusal('[status]\nallow = ["10.0.0.0/8", "10.0.0.1/8"]\n')).toBe(
      'postern.toml:2: status.allow[1]: "10.0.0.1/8" has bits set past its prefix; the block is "10.0.0.0/8"',
    );
    expect(refusal('[metrics]\nallow = ["localhost"]\n')).toMatch(/^postern\.toml:2: metrics\.allow\[0\]: expected an IP address or a CIDR block/);
  });

  test("a path must start with a slash, and the two must differ", () => {
    expect(refusal('[metrics]\npath = "metrics"\n')).toBe('postern.toml:2: metrics.path: must start with "/", found "metrics"');
    expect(refusal('[metrics]\npath = "/s"\n[status]\npath = "/s"\n')).toBe('postern.toml:4: status.path: is [metrics]\'s path too ("/s"): give each its own');
  });

  test("an unknown key names the known ones", () => {
    expect(refusal("[status]\nallowed = []\n")).toMatch(/^postern\.toml:2: status\.allowed: unknown key; did you mean "allow"\?/);
  });
});

describe("recent errors", () => {
  test("keeps the last lines, newest first, and cuts a very long one", () => {
    const recent = new RecentErrors(3);
    for (const line of ["a", "b", "c", "d", "x".repeat(5_000)]) recent.add(line, 0);
    const lines = recent.newestFirst().map((e) => e.line);
    expect(lines.slice(1)).toEqual(["d", "c"]);
    expect(lines[0]!.length).toBeLessThan(2_100);
  });
});
