// The keys of the uwsgi and SCGI routes (gateways/uwsgi/options.ts,
// gateways/scgi/options.ts, gateways/stream-gateway.ts) with the real
// registry: defaults, and each refusal naming its key and line, in a parsed
// config and through `postern check`.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { parseConfig } from "../src/config.ts";
import { configError } from "./helpers/config-error.ts";

const BIN = join(import.meta.dirname, "../bin/postern.js");

const route = (gateway: string, extra: string) => `[[routes]]\ngateway = "${gateway}"\nbackend = "127.0.0.1:3031"\n${extra}\n`;
const options = (gateway: string, extra = "") => parseConfig(route(gateway, extra), "postern.toml", gatewaySchemas).routes[0]!.options;

describe.each(["uwsgi", "scgi"])("%s route keys", (gateway) => {
  it("defaults: one request at a time per backend, the shared queue and timeouts, no env", () => {
    expect(options(gateway)).toMatchObject({
      backend: ["127.0.0.1:3031"],
      max_conns: 1,
      max_queue: 1024,
      queue_timeout: 30_000,
      connect_timeout: 5_000,
      first_byte_timeout: 60_000,
      idle_timeout: 60_000,
      fail_timeout: 10_000,
      balance: "least_conn",
      max_response_header_size: 64 * 1024,
      request_buffering: true,
      env: {},
    });
  });

  it.each(["keepalive = true", 'keepalive_timeout = "5s"'])("%s: one request per connection, so an unknown key, with its line", (line) => {
    const error = configError(route(gateway, line), gatewaySchemas);
    expect({ line: error.line, key: error.key }).toEqual({ line: 4, key: `routes[0].${line.split(" ")[0]}` });
    expect(error.message).toContain("unknown key");
  });

  it("backend is required", () => {
    const error = configError(`[[routes]]\ngateway = "${gateway}"\n`, gatewaySchemas);
    expect(error.key).toBe("routes[0].backend");
    expect(error.message).toContain("missing required key");
  });

  it.each([
    ["max_conns = 0", "max_conns", "0"],
    ['balance = "hash"', "balance", '"hash" needs `hash_key`'],
    ['health = { path = "ping" }', "health.path", 'must start with "/"'],
    ['env = { A = 1 }', "env.A", "1"],
    ['env = { CONTENT_LENGTH = "5" }', "env.CONTENT_LENGTH", "the request body's length, set by postern"],
    ['health = { path = "/a%2Fb" }', "health.path", "no path a request could have"],
  ])("%s is refused with its key and line", (line, key, message) => {
    const error = configError(route(gateway, line), gatewaySchemas);
    expect({ line: error.line, key: error.key }).toEqual({ line: 4, key: `routes[0].${key}` });
    expect(error.message).toContain(message);
  });
});

describe("uwsgi modifiers", () => {
  it("default 0 and 0 (WSGI); any byte", () => {
    expect(options("uwsgi")).toMatchObject({ modifier1: 0, modifier2: 0 });
    expect(options("uwsgi", "modifier1 = 5\nmodifier2 = 255")).toMatchObject({ modifier1: 5, modifier2: 255 });
  });

  it.each(["modifier1 = 256", "modifier2 = -1"])("%s is refused: the packet holds a byte", (line) => {
    const error = configError(route("uwsgi", line), gatewaySchemas);
    expect({ line: error.line, key: error.key }).toEqual({ line: 4, key: `routes[0].${line.split(" ")[0]}` });
  });

  it("an scgi route has no modifiers", () => {
    expect(configError(route("scgi", "modifier1 = 5"), gatewaySchemas).message).toContain("unknown key");
  });
});

describe("SCGI env", () => {
  it.each([['env = { A = "a\\u0000b" }'], ['env = { "A\\u0000B" = "x" }'], ['env = { "" = "x" }']])("%s: a NUL or an empty name cannot be sent, refused", (line) => {
    const error = configError(route("scgi", line), gatewaySchemas);
    expect({ line: error.line, key: error.key }).toEqual({ line: 4, key: "routes[0].env" });
    expect(error.message).toContain("SCGI carries no empty name and no NUL byte");
  });

  it("uwsgi carries NUL bytes (its lengths say where a value ends)", () => {
    expect(options("uwsgi", 'env = { A = "a\\u0000b" }').env).toEqual({ A: "a\0b" });
  });
});

describe("postern check", () => {
  const dir = mkdtempSync(join(tmpdir(), "postern-uwsgi-check-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const check = (text: string) => {
    const file = join(dir, "postern.toml");
    writeFileSync(file, text);
    return { file, ...spawnSync(process.execPath, [BIN, "check", "--config", file], { encoding: "utf8", timeout: 20_000 }) };
  };

  it("a uwsgi and an scgi route: ok", () => {
    const { status, stdout } = check(route("uwsgi", "max_conns = 4") + route("scgi", ""));
    expect(status).toBe(0);
    expect(stdout).toContain("ok (2 routes)");
  });

  it("keepalive on a uwsgi route: the key and its line", () => {
    const { status, stderr, file } = check(`listen = "127.0.0.1:8080"\n\n${route("uwsgi", "keepalive = true")}`);
    expect(status).toBe(2);
    expect(stderr).toContain(`${file}:6: routes[0].keepalive: unknown key`);
  });
});

describe.each(["uwsgi", "scgi"] as const)("the library's %s()", (gateway) => {
  it("takes the route keys, and a wrong value names its key", async () => {
    const library = await import("../runtimes/node/index.ts");
    const handler = library[gateway]({ backend: ["127.0.0.1:3031"] });
    await handler.close();
    // @ts-expect-error: a wrong value given past the types is refused when called.
    expect(() => library[gateway]({ backend: ["127.0.0.1:3031"], max_conns: "many" })).toThrow(/^max_conns: expected an integer/);
  });
});
