// postern.toml parsing and validation (src/config.ts): every error names the
// key and the exact file line, as DESIGN.md "postern.toml" promises.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_CLIENT_LIMITS } from "../src/client-limits.ts";
import { parseConfig, type GatewaySchema } from "../src/config.ts";
import { locate } from "../src/config-locate.ts";
import { configError } from "./helpers/config-error.ts";

// A made-up gateway registry, shaped like the real one.
const fastcgi: GatewaySchema = {
  fields: {
    backend: { type: "address[]", doc: "FastCGI servers" },
    root: { type: "string", required: true, doc: "document root" },
    index: { type: "string[]", default: ["index.php"], doc: "index files" },
    procs: { type: "integer", min: 1, max: 64, doc: "connections per backend" },
    role: { type: "string", oneOf: ["responder", "authorizer"], doc: "FastCGI role" },
    spawn: {
      type: {
        table: {
          command: { type: "string[]", required: true, doc: "argv" },
          procs: { type: "integer", min: 1, default: 1, doc: "processes" },
          env: { type: "env", doc: "environment" },
        },
      },
      doc: "a backend postern starts",
    },
    timeout: { type: "duration", default: 30_000, min: 1, doc: "backend timeout" },
    max_body: { type: "size", default: 1024 * 1024, doc: "request body limit" },
  },
  check: (o) =>
    o.backend !== undefined && o.spawn !== undefined
      ? { key: "spawn", message: "cannot be used together with backend" }
      : undefined,
};
const cgi: GatewaySchema = { fields: { root: { type: "string", required: true, doc: "script dir" } } };
const GATEWAYS = { fastcgi, cgi };

const failure = (text: string) => configError(text, GATEWAYS);

function expectError(text: string, line: number | undefined, key: string | undefined, detail: RegExp) {
  const error = failure(text);
  expect({ line: error.line, key: error.key }).toEqual({ line, key });
  expect(error.message).toMatch(detail);
  expect(error.message.startsWith(`postern.toml${line === undefined ? "" : `:${line}`}: ${key ? `${key}: ` : ""}`)).toBe(true);
}

const route = (extra: string) => `[[routes]]\ngateway = "fastcgi"\nroot = "/srv"\n${extra}\n`;

describe("parseConfig: valid configs", () => {
  it("round-trips a full config with defaults filled in", () => {
    const config = parseConfig(
      `# demo
listen = ["127.0.0.1:8080", "unix:/run/postern.sock"]
access_log = false

[[routes]]
path = "/cgi-bin/*"
gateway = "cgi"
root = "./cgi-bin"

[[routes]]
gateway = "fastcgi"
backend = "tcp://127.0.0.1:9000"
root = "/var/www/html"
timeout = "500ms"
max_body = "64k"

[[routes]]
path = "/app/*"
gateway = "fastcgi"
root = "/app"
spawn = { command = "php-cgi", env = { PHP_FCGI_CHILDREN = "0" } }
index = ["index.php", "index.html"]
`,
      "postern.toml",
      GATEWAYS,
    );
    expect(config).toEqual({
      listen: ["127.0.0.1:8080", "unix:/run/postern.sock"],
      accessLog: "off",
      errorLog: "-",
      maxBufferedTotal: 64 * 1024 ** 2,
      trustedProxies: [],
      realIpHeader: "X-Forwarded-For",
      encodedSlashes: "refuse",
      client: DEFAULT_CLIENT_LIMITS,
      gracefulTimeout: 30_000,
      redirects: [],
      rewrites: [],
      compress: [],
      accessLogFormat: "combined",
      routes: [
        { path: "/cgi-bin/*", gateway: "cgi", line: 5, options: { root: "./cgi-bin" } },
        {
          path: "*",
          gateway: "fastcgi",
          line: 10,
          options: {
            backend: ["tcp://127.0.0.1:9000"],
            root: "/var/www/html",
            index: ["index.php"],
            timeout: 500,
            max_body: 65536,
          },
        },
        {
          path: "/app/*",
          gateway: "fastcgi",
          line: 17,
          options: {
            root: "/app",
            spawn: { command: ["php-cgi"], procs: 1, env: { PHP_FCGI_CHILDREN: "0" } },
            index: ["index.php", "index.html"],
            timeout: 30_000,
            max_body: 1048576,
          },
        },
      ],
    });
  });

  it("defaults listen, access_log and error_log", () => {
    const config = parseConfig(route(""), "postern.toml", GATEWAYS);
    expect(config.listen).toEqual(["127.0.0.1:8080"]);
    expect(config.accessLog).toBe("-");
    expect(config.errorLog).toBe("-");
  });

  it("does not share default arrays between routes", () => {
    const config = parseConfig(route("") + route(""), "postern.toml", GATEWAYS);
    (config.routes[0]!.options.index as string[]).push("x");
    expect(config.routes[1]!.options.index).toEqual(["index.php"]);
    expect(parseConfig(route(""), "f", GATEWAYS).listen).toEqual(["127.0.0.1:8080"]);
  });

  it("accepts a sub-table [routes.spawn] and multi-line arrays", () => {
    const config = parseConfig(
      `[[routes]]
gateway = "fastcgi"
root = "/srv"
[routes.spawn]
command = [
  "php-cgi",   # the binary
  "-c", "/etc/php.ini",
]
procs = 4
`,
      "postern.toml",
      GATEWAYS,
    );
    expect(config.routes[0]!.options.spawn).toEqual({ command: ["php-cgi", "-c", "/etc/php.ini"], procs: 4 });
  });
});

describe("parseConfig: units", () => {
  const maxBody = (value: string) => parseConfig(route(`max_body = ${value}`), "f", GATEWAYS).routes[0]!.options.max_body;
  const timeout = (value: string) => parseConfig(route(`timeout = ${value}`), "f", GATEWAYS).routes[0]!.options.timeout;

  it("sizes: integers and binary units", () => {
    expect(maxBody("512")).toBe(512);
    expect(maxBody('"512"')).toBe(512);
    expect(maxBody('"64k"')).toBe(65536);
    expect(maxBody('"16M"')).toBe(16 * 1024 ** 2);
    expect(maxBody('"1g"')).toBe(1024 ** 3);
    expect(maxBody('"1GB"')).toBe(1024 ** 3);
    expect(maxBody('"8kb"')).toBe(8192);
  });

  it('bad size "12q" -> error on its line', () => {
    expectError(route('max_body = "12q"'), 4, "routes[0].max_body", /expected a size .* found string "12q"/);
  });

  it("negative and float sizes are errors", () => {
    expectError(route("max_body = -1"), 4, "routes[0].max_body", /found integer -1/);
    expectError(route("max_body = 1.5"), 4, "routes[0].max_body", /found float 1.5/);
  });

  it("durations: seconds as numbers, or strings with a unit", () => {
    expect(timeout('"500ms"')).toBe(500);
    expect(timeout("30")).toBe(30_000);
    expect(timeout("1.5")).toBe(1500);
    expect(timeout('"30s"')).toBe(30_000);
    expect(timeout('"2m"')).toBe(120_000);
    expect(timeout('"1h"')).toBe(3_600_000);
  });

  it('bad duration "5x" -> error on its line', () => {
    expectError(route('timeout = "5x"'), 4, "routes[0].timeout", /expected a duration .* found string "5x"/);
  });

  it("duration below min", () => {
    expectError(route('timeout = "0ms"'), 4, "routes[0].timeout", /must be at least 1 ms, found string "0ms"/);
  });
});

describe("parseConfig: errors name the key and the line", () => {
  it("unknown top-level key, with did-you-mean", () => {
    expectError(`# c\nlisten = "127.0.0.1:80"\nacess_log = true\n${route("")}`, 3, "acess_log", /unknown key; did you mean "access_log"\?/);
  });

  it("[[route]] instead of [[routes]]", () => {
    expectError(`[[route]]\ngateway = "cgi"\n`, 1, "route", /did you mean "routes"\?/);
  });

  it("top-level key written after a [[routes]] table", () => {
    expectError(route('listen = "127.0.0.1:80"'), 4, "routes[0].listen", /top-level keys must come before the first \[\[routes\]\]/);
  });

  it("unknown route key, with did-you-mean", () => {
    expectError(route("") + route('bakend = "127.0.0.1:9000"'), 8, "routes[1].bakend", /unknown key for gateway "fastcgi"; did you mean "backend"\?/);
  });

  it("unknown route key without a near match lists the known keys", () => {
    expectError(route("frobnicate = 1"), 4, "routes[0].frobnicate", /known keys: path, gateway, backend, root/);
  });

  it("wrong type says what was expected and what was found", () => {
    expectError(route("\n\nprocs = \"two\""), 6, "routes[0].procs", /expected an integer, found string "two"/);
    expectError(route("index = [1]"), 4, "routes[0].index[0]", /expected a string, found integer 1/);
  });

  it("integer out of bounds", () => {
    expectError(route("procs = 0"), 4, "routes[0].procs", /must be at least 1, found integer 0/);
    expectError(route("procs = 65"), 4, "routes[0].procs", /must be at most 64, found integer 65/);
  });

  it("oneOf", () => {
    expectError(route('role = "responer"'), 4, "routes[0].role", /expected one of "responder", "authorizer", found "responer"; did you mean "responder"\?/);
  });

  it("bad backend address", () => {
    expectError(route('backend = ["127.0.0.1:9000", "localhost"]'), 4, "routes[0].backend[1]", /not an address: "localhost"/);
    expectError(route("backend = 9000"), 4, "routes[0].backend", /expected an address .* found integer 9000/);
    expectError(route("backend = []"), 4, "routes[0].backend", /at least one address/);
  });

  it("bad listen address", () => {
    expectError(`listen = ["127.0.0.1:99999"]\n${route("")}`, 1, "listen[0]", /port out of range/);
  });

  it("missing gateway -> the route's [[routes]] line", () => {
    expectError(`${route("")}\n[[routes]]\npath = "/x"\n`, 6, "routes[1].gateway", /missing; every route needs a gateway, one of: fastcgi, cgi/);
  });

  it("unknown gateway lists the known ones", () => {
    expectError(`[[routes]]\npath = "/x"\ngateway = "fcgi"\n`, 3, "routes[0].gateway", /unknown gateway "fcgi"; did you mean "cgi"\?; known gateways: fastcgi, cgi/);
  });

  it("gateway that is not a string", () => {
    expectError(`[[routes]]\ngateway = 3\n`, 2, "routes[0].gateway", /expected a gateway name \(one of: fastcgi, cgi\), found integer 3/);
  });

  it("path must start with / or be *", () => {
    expectError(`[[routes]]\ngateway = "cgi"\nroot = "."\npath = "cgi-bin/*"\n`, 4, "routes[0].path", /must start with "\/"/);
  });

  it("required key missing -> the route's [[routes]] line", () => {
    expectError(`listen = "127.0.0.1:80"\n\n[[routes]]\ngateway = "fastcgi"\nbackend = "127.0.0.1:9000"\n`, 3, "routes[0].root", /missing required key \(document root\)/);
  });

  it("impossible combination (check) blames its key", () => {
    expectError(route('backend = "127.0.0.1:9000"\nspawn = { command = "php-cgi" }'), 5, "routes[0].spawn", /cannot be used together with backend/);
  });

  it("key inside an inline table -> the line of the table's key", () => {
    expectError(route('spawn = { command = "php-cgi", procs = 0 }'), 4, "routes[0].spawn.procs", /must be at least 1/);
    expectError(route('spawn = { command = "php-cgi", env = { A = 1 } }'), 4, "routes[0].spawn.env.A", /expected a string, found integer 1/);
  });

  it("required key missing in an inline table -> the line of the table's key", () => {
    expectError(route("spawn = { procs = 2 }"), 4, "routes[0].spawn.command", /missing required key/);
  });

  it("key in a [routes.spawn] sub-table", () => {
    const text = `${route("")}${route("")}[routes.spawn]\ncommand = "php-cgi"\nprocs = "many"\n`;
    // lines 1-4 and 5-8 are the two routes, 9 the sub-table header
    expectError(text, 11, "routes[1].spawn.procs", /expected an integer, found string "many"/);
  });

  it("unknown key in a dotted key", () => {
    expectError(route('spawn.command = "x"\nspawn.prox = 2'), 5, "routes[0].spawn.prox", /did you mean "procs"\?/);
  });

  it("TOML syntax error -> its line", () => {
    expectError(`listen = "127.0.0.1:80"\n[[routes]]\ngateway = "cgi"\nroot = \n`, 4, undefined, /invalid TOML: .*column/);
  });

  it("no routes", () => {
    expectError(`listen = "127.0.0.1:80"\n`, undefined, "routes", /at least one \[\[routes\]\] table is required/);
    expectError(`routes = []\n`, 1, "routes", /at least one/);
  });

  it("routes that are not tables", () => {
    expectError(`routes = "x"\n`, 1, "routes", /expected \[\[routes\]\] tables, found string "x"/);
  });

  it("[[routes]] inside multi-line strings and comments is not a header", () => {
    const text = `[[routes]]
gateway = "fastcgi"
root = """
[[routes]]
"""   # [[routes]]
index = ['''
[[routes]]''']
# [[routes]]

[[routes]]
gateway = "fastcgi"
root = "/srv"
procs = 0
`;
    expectError(text, 13, "routes[1].procs", /must be at least 1/);
  });
});

describe("locate", () => {
  it("finds quoted, dotted and spaced keys", () => {
    const text = `a = 1
[ "tbl" . 'x y' ]
"k.1" = 2
b . c = { d = 3 }
[t2]
s = "a \\" # ] = ["
arr = [
  [1, 2],
  { e = 1 },
]
z = 1
`;
    expect(locate(text, ["a"])).toBe(1);
    expect(locate(text, ["tbl", "x y"])).toBe(2);
    expect(locate(text, ["tbl", "x y", "k.1"])).toBe(3);
    expect(locate(text, ["tbl", "x y", "b", "c", "d"])).toBe(4);
    expect(locate(text, ["tbl", "x y", "b"])).toBe(4);
    expect(locate(text, ["t2", "arr", 1])).toBe(7);
    expect(locate(text, ["t2", "z"])).toBe(11);
    expect(locate(text, ["t2", "missing"])).toBe(5);
    expect(locate(text, ["nothing"])).toBeUndefined();
  });

  it("counts nested arrays of tables per parent", () => {
    const text = `[[r]]
[[r.s]]
[[r.s]]
x = 1
[[r]]
[[r.s]]
x = 2
[r.t]
y = 3
`;
    expect(locate(text, ["r", 0, "s", 1, "x"])).toBe(4);
    expect(locate(text, ["r", 1, "s", 0, "x"])).toBe(7);
    expect(locate(text, ["r", 1, "t", "y"])).toBe(9);
    expect(locate(text, ["r", 1])).toBe(5);
  });

  it("handles CRLF line endings and escaped quotes in keys", () => {
    const text = `[[routes]]\r\n"a\\"b" = 1\r\n[[routes]]\r\nc = 2\r\n`;
    expect(locate(text, ["routes", 0, 'a"b'])).toBe(2);
    expect(locate(text, ["routes", 1, "c"])).toBe(4);
  });

  it("terminates on any text, even text that is not TOML", () => {
    const piece = fc.constantFrom("[", "]", "[[", "{", "}", '"', "'", '"""', "'''", "\\", "=", ".", ",", "#", "\n", " ", "a", "1");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), fc.array(fc.oneof(fc.string(), fc.nat(3))), (parts, path) => {
        const line = locate(parts.join(""), path);
        expect(line === undefined || line >= 1).toBe(true);
      }),
    );
  });
});
