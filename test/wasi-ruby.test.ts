// Ruby scripts as CGI programs: the WASI gateway with `interpreter = "ruby"`
// running the real CRuby 3.4 compiled to WASI (npm @ruby/3.4-wasm-wasi) over
// the scripts in test/fixtures/ruby. Every case runs twice: each request's
// instance started from a snapshot of an initialized one (the default), and
// initialized per request (snapshot = false). What a script sees, what the
// client gets, what one request leaves to the next (nothing), and faults,
// each followed by a normal request; then the configurations refused.

import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { logLine, request } from "./helpers/answer.ts";

const RUBY = join(import.meta.dirname, "../node_modules/@ruby/3.4-wasm-wasi/dist/ruby+stdlib.wasm");
const SCRIPTS = join(import.meta.dirname, "fixtures/ruby");
const PROBE = join(import.meta.dirname, "../examples/wasi/probe.wasm");
const MiB = 1024 * 1024;
/** Set in this process before postern starts: no script may ever see it. */
const SECRET = { name: "POSTERN_RUBY_TEST_SECRET", value: "must-not-reach-scripts" };

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

function rubyRoute(extra: Record<string, string | number | boolean> = {}): string {
  const keys = { path: "/*", gateway: "wasi", interpreter: "ruby", module: RUBY, root: SCRIPTS, timeout: "60s", threads: 2, ...extra };
  return ["[[routes]]", ...Object.entries(keys).map(([k, v]) => `${k} = ${typeof v === "string" ? JSON.stringify(v) : v}`), ""].join("\n");
}

interface Seen {
  env: Record<string, string>;
  argv: string[];
  zero: string;
  file: string;
  pwd: string;
  body: string;
  rand: number;
}

async function envOf(url: string, init?: RequestInit): Promise<Seen> {
  const answer = await request(url, init);
  expect(answer.status, answer.body).toBe(200);
  return JSON.parse(answer.body) as Seen;
}

test("the Ruby module is installed (npm ci)", () => {
  expect(existsSync(RUBY)).toBe(true);
});

describe.each([
  { mode: "from a snapshot", snapshot: true },
  { mode: "initialized per request", snapshot: false },
])("ruby scripts, $mode", ({ snapshot }) => {
  let p: RunningPostern;

  beforeAll(async () => {
    process.env[SECRET.name] = SECRET.value;
    p = await startPostern(rubyRoute({ snapshot, timeout: "4s" }));
  }, 60_000);

  afterAll(async () => {
    delete process.env[SECRET.name];
    await p?.stop();
  });

  async function stillServes(): Promise<void> {
    const seen = await envOf(`${p.url}/env.rb?still`);
    expect(seen.env.QUERY_STRING).toBe("still");
  }

  test("the environment is the request's CGI variables and nothing of the host", async () => {
    const seen = await envOf(`${p.url}/env.rb/extra/path?a=1&b=%20`, { headers: { "X-Custom": "yes" } });
    expect(seen.env).toMatchObject({
      GATEWAY_INTERFACE: "CGI/1.1",
      REQUEST_METHOD: "GET",
      QUERY_STRING: "a=1&b=%20",
      SCRIPT_NAME: "/env.rb",
      PATH_INFO: "/extra/path",
      SCRIPT_FILENAME: "/app/env.rb",
      DOCUMENT_ROOT: "/app",
      HTTP_X_CUSTOM: "yes",
    });
    expect(seen.env[SECRET.name]).toBeUndefined();
    expect(Object.keys(seen.env).some((name) => ["PATH", "HOME", "USER"].includes(name))).toBe(false);
    // Run as `ruby /app/env.rb` from its directory: no arguments, never the query string.
    expect(seen.argv).toEqual([]);
    expect(seen.zero).toBe("/app/env.rb");
    expect(seen.file).toBe("/app/env.rb");
    expect(seen.pwd).toBe("/app");
  });

  test("a header value with UTF-8 and an = reaches ENV byte for byte", async () => {
    const seen = await envOf(`${p.url}/env.rb`, { headers: { "X-Text": Buffer.from("a=b=ç ✓").toString("latin1") } });
    expect(seen.env.HTTP_X_TEXT).toBe("a=b=ç ✓");
  });

  test("each request gets its own random numbers", async () => {
    const draws = new Set<number>();
    for (let i = 0; i < 4; i++) draws.add((await envOf(`${p.url}/env.rb`)).rand);
    expect(draws.size).toBe(4);
  });

  test("nothing one request leaves in Ruby reaches the next", async () => {
    for (const query of ["first", "second", "third"]) {
      const answer = await request(`${p.url}/leak.rb?${query}`);
      // Only its own query: the global a run sets is gone in the next.
      expect(answer.body).toBe(query);
    }
  });

  test("a posted body on stdin; 3 MiB echoed byte for byte", async () => {
    expect((await envOf(`${p.url}/env.rb`, { method: "POST", body: "name=value" })).body).toBe("name=value");
    const body = randomBytes(3 * MiB);
    const res = await fetch(`${p.url}/echo.rb`, { method: "POST", body, signal: AbortSignal.timeout(60_000) });
    expect(res.status).toBe(200);
    expect(md5(new Uint8Array(await res.arrayBuffer()))).toBe(md5(body));
  });

  test("the standard library's CGI class parses the query and a form", async () => {
    expect((await request(`${p.url}/form.rb?a=1&b=2&a=3`)).body).toBe("a=1|3&b=2");
    const posted = await request(`${p.url}/form.rb`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "x=%C3%A7&y=2",
    });
    expect(posted.body).toBe("x=ç&y=2");
  });

  test("three Set-Cookie fields, a status with its reason phrase, UTF-8 text", async () => {
    const answer = await request(`${p.url}/cookies.rb`);
    expect(answer.status).toBe(201);
    expect(answer.statusText).toBe("Made");
    expect(answer.headers.getSetCookie()).toEqual(["a=1", "b=2", "c=3"]);
    expect(answer.body).toBe("héllo ✓\n");
  });

  test("a local redirect is answered as a GET of its path", async () => {
    const seen = await envOf(`${p.url}/redirect.rb`, { method: "POST", body: "dropped" });
    expect(seen.env.QUERY_STRING).toBe("from=redirect");
    expect(seen.env.REQUEST_METHOD).toBe("GET");
    expect(seen.body).toBe("");
  });

  test("lookup: a directory runs its index.rb, PATH_INFO follows the script, other files are refused", async () => {
    expect((await request(`${p.url}/dir/`)).body).toBe("index of dir");
    expect((await request(`${p.url}/notes.txt`)).status).toBe(403);
    expect((await request(`${p.url}/.hidden.rb`)).status).toBe(404);
    expect((await request(`${p.url}/missing.rb`)).status).toBe(404);
    expect((await request(`${p.url}/%2e%2e/etc/passwd`)).status).toBe(404);
    expect((await envOf(`${p.url}/env.rb/`)).env.PATH_INFO).toBe("/");
  });

  test("no file outside the root can be read, and nothing can be written", async () => {
    const answer = await request(`${p.url}/escape.rb`);
    expect(answer.body.split("\n")).toEqual([
      "/etc/passwd: Errno::ENOENT",
      "/app/../../etc/passwd: Errno::ENOTCAPABLE",
      "../../../etc/passwd: Errno::ENOTCAPABLE",
      expect.stringMatching(/^\/app\/env\.rb: read \d+$/),
      "write: Errno::EROFS",
      "",
    ]);
  });

  test("stderr goes to the error log, naming the script", async () => {
    expect((await request(`${p.url}/stderr.rb`)).body).toBe("ok");
    expect(await logLine(p, /\/stderr\.rb: stderr: a line for the log, client: /)).toBeDefined();
  });

  test("an exception nobody rescues -> 502, its message and backtrace in the log", async () => {
    expect((await request(`${p.url}/raise.rb`)).status).toBe(502);
    expect(await logLine(p, /\/raise\.rb: stderr: .*a bad day \(ArgumentError\)/)).toBeDefined();
    await stillServes();
  });

  test("exit 3 -> 502, the log gives the status", async () => {
    expect((await request(`${p.url}/exit3.rb`)).status).toBe(502);
    expect(await logLine(p, /\/exit3\.rb: .*status 3\b/)).toBeDefined();
    await stillServes();
  });

  test("JavaScript interop ends the run: 500, the log says why", async () => {
    expect((await request(`${p.url}/js.rb`)).status).toBe(500);
    expect(await logLine(p, /\/js\.rb: the module crashed: the script called JavaScript/)).toBeDefined();
    await stillServes();
  });

  test("memory without end stops at max_memory; the gateway answers on", async () => {
    const answer = await request(`${p.url}/grow.rb`);
    expect([500, 502]).toContain(answer.status);
    await stillServes();
  });

  test("an endless loop -> 504 at the timeout, while the other thread answers", async () => {
    const looping = request(`${p.url}/loop.rb`);
    await stillServes();
    expect((await looping).status).toBe(504);
    await stillServes();
    await stillServes();
  });
});

describe("interpreter routes refused at startup", () => {
  async function startError(toml: string): Promise<Error> {
    let postern: RunningPostern | undefined;
    try {
      postern = await startPostern(toml);
    } catch (err) {
      return err as Error;
    }
    await postern.stop();
    throw new Error("postern started");
  }

  test("an interpreter without root", async () => {
    const err = await startError(["[[routes]]", 'path = "/*"', 'gateway = "wasi"', 'interpreter = "ruby"', `module = ${JSON.stringify(RUBY)}`].join("\n"));
    expect(err.message).toMatch(/interpreter.*root/);
  });

  test("root without an interpreter", async () => {
    const err = await startError(["[[routes]]", 'path = "/*"', 'gateway = "wasi"', `module = ${JSON.stringify(PROBE)}`, `root = ${JSON.stringify(SCRIPTS)}`].join("\n"));
    expect(err.message).toMatch(/root/);
    expect(err.message).toMatch(/interpreter/);
  });

  test("an interpreter that does not exist, naming the ones that do", async () => {
    const err = await startError(rubyRoute({ interpreter: "cobol" }));
    expect(err.message).toMatch(/interpreter/);
    expect(err.message).toContain('"ruby"');
  });

  test("entrypoint and argv belong to commands", async () => {
    expect((await startError(rubyRoute({ entrypoint: "_start" }))).message).toMatch(/entrypoint/);
  });

  test("a volume where the scripts are", async () => {
    const err = await startError(`${rubyRoute()}volumes = { "/app" = ${JSON.stringify(SCRIPTS)} }\n`);
    expect(err.message).toMatch(/volumes\."\/app"/);
    expect(err.message).toContain("where an interpreter route's root is");
  });

  test("a volume inside the scripts' directory, or a guest path written another way", async () => {
    expect((await startError(`${rubyRoute()}volumes = { "/app/lib" = ${JSON.stringify(SCRIPTS)} }\n`)).message).toMatch(/volumes\."\/app\/lib".*may not be in it/);
    expect((await startError(`${rubyRoute()}volumes = { "/data/" = ${JSON.stringify(SCRIPTS)} }\n`)).message).toMatch(/empty segments/);
  });

  test("a module that is no Ruby", async () => {
    const err = await startError(rubyRoute({ module: PROBE }));
    expect(err.message).toMatch(/exports no function "_initialize" \(is it ruby\?\)/);
  });
});
