// The keys of compression and response headers as postern.toml and the
// library take them, and Accept-Encoding negotiation (RFC 9110 §12.5.3).

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { Hono } from "hono";
import { describe, expect, test } from "vitest";
import { bindGateways, createGateway, gatewaySchemas } from "../gateways/index.ts";
import { acceptedEncodings } from "../gateways/route/compress/negotiate.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { parseConfig } from "../src/config.ts";

const route = (keys: string) => `[[routes]]\npath = "*"\ngateway = "static"\nroot = "/srv/www"\n${keys}\n`;

function refusal(toml: string): string {
  try {
    parseConfig(toml, "postern.toml", gatewaySchemas);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("the config was accepted");
}

describe("headers", () => {
  test.each([
    ["Content-Length", 'headers = { set = { "Content-Length" = "5" } }', "postern.toml:5: routes[0].headers.set.Content-Length: Content-Length frames the message"],
    ["Transfer-Encoding", 'headers = { set = { "Transfer-Encoding" = "chunked" } }', "routes[0].headers.set.Transfer-Encoding:"],
    ["Connection", 'headers = { set = { connection = "close" } }', "routes[0].headers.set.connection:"],
    ["Content-Encoding removed", 'headers = { remove = ["X-Powered-By", "Content-Encoding"] }', "routes[0].headers.remove: Content-Encoding frames"],
    ["a name that is no token", 'headers = { set = { "X Frame" = "DENY" } }', 'routes[0].headers.set."X Frame": "X Frame" is no field name'],
    ["a line break in a value", 'headers = { set = { "X-A" = "a\\r\\nSet-Cookie: x=1" } }', "routes[0].headers.set.X-A:"],
  ])("refuses %s, naming the key and its line", (_, keys, message) => {
    expect(refusal(route(keys))).toContain(message);
  });

  test("the library refuses the same values", () => {
    expect(() => createGateway("static", nodeRuntime, { root: "/srv/www", headers: { set: { "Content-Length": "5" } } })).toThrow(
      /headers\.set\.Content-Length: Content-Length frames the message/,
    );
  });

  test("set and remove are taken as written", () => {
    const config = parseConfig(route('headers = { set = { "X-Frame-Options" = "DENY" }, remove = ["X-Powered-By"] }'), "postern.toml", gatewaySchemas);
    expect(config.routes[0]!.options.headers).toEqual({ set: { "X-Frame-Options": "DENY" }, remove: ["X-Powered-By"] });
  });
});

describe("compress", () => {
  test("the top level's list is every route's unless the route says", () => {
    const config = parseConfig(`compress = ["br", "gzip"]\n${route("")}${route("compress = []")}`, "postern.toml", gatewaySchemas);
    expect(config.compress).toEqual(["br", "gzip"]);
    expect(config.routes[0]!.options.compress).toBeUndefined();
    expect(config.routes[1]!.options.compress).toEqual([]);
  });

  test.each(["text/html; charset=utf-8", "html", "*/*", "text/ html"])("compress_types refuses %j, naming the key", (type) => {
    expect(refusal(route(`compress_types = ${JSON.stringify(["text/*", type])}`))).toContain("postern.toml:5: routes[0].compress_types:");
  });

  test("compress_types takes types and patterns", () => {
    const types = ["text/*", "application/*+json", "image/svg+xml", "application/vnd.ms-fontobject"];
    expect(parseConfig(route(`compress_types = ${JSON.stringify(types)}`), "postern.toml", gatewaySchemas).routes[0]!.options.compress_types).toEqual(types);
  });

  test("an unknown encoding is refused with the ones known", () => {
    expect(refusal(route('compress = ["brotli"]'))).toContain('routes[0].compress[0]: expected one of "zstd", "br", "gzip", found "brotli"');
    expect(refusal(`compress = "deflate"\n${route("")}`)).toContain("postern.toml:1: compress:");
  });
});

describe("the library", () => {
  test("staticFiles({ compress, headers }) compresses and sets headers as the route keys do", async () => {
    const root = mkdtempSync(join(tmpdir(), "postern-compress-lib-"));
    try {
      const text = "compressible text\n".repeat(100);
      writeFileSync(join(root, "page.txt"), text);
      const { staticFiles } = bindGateways(nodeRuntime);
      const app = new Hono().get("*", staticFiles({ root, compress: ["gzip"], headers: { set: { "X-Frame-Options": "DENY" } } }));
      const response = await app.request("/page.txt", { headers: { "accept-encoding": "gzip" } });
      expect(response.headers.get("content-encoding")).toBe("gzip");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(gunzipSync(new Uint8Array(await response.arrayBuffer())).toString()).toBe(text);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("Accept-Encoding", () => {
  const offered = ["zstd", "br", "gzip"] as const;
  test.each([
    ["gzip, deflate, br, zstd", ["zstd", "br", "gzip"]],
    ["gzip;q=1.0, br;q=0.8", ["gzip", "br"]],
    ["br;q=0.5, gzip;q=0.5, zstd;q=0.1", ["br", "gzip", "zstd"]],
    ["*", ["zstd", "br", "gzip"]],
    ["*;q=0.1, gzip", ["gzip", "zstd", "br"]],
    ["br;q=0, *", ["zstd", "gzip"]],
    ["GZIP", ["gzip"]],
    ["x-gzip", ["gzip"]],
    ["gzip;q=0", []],
    ["identity", []],
    ["", []],
    // An unreadable weight is taken as a refusal.
    ["br;q=2, gzip;q=abc", []],
    ["gzip ; q=0.001", ["gzip"]],
  ])("%j takes %j", (field, expected) => {
    expect(acceptedEncodings(field, offered)).toEqual(expected);
  });

  test("no field: nothing is compressed", () => {
    expect(acceptedEncodings(null, offered)).toEqual([]);
  });
});
