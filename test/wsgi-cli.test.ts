// `postern wsgi`'s Gunicorn flags read into a Config: every flag, the
// defaults Gunicorn takes from PORT, WEB_CONCURRENCY and FORWARDED_ALLOW_IPS,
// and usage errors that name the flag as the user typed it.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { REFUSED_GUNICORN_FLAGS, WSGI_FLAGS, wsgiCommand, WsgiUsageError, type WsgiContext } from "../gateways/wsgi/cli.ts";
import { PROCESS_USER_FIELDS } from "../src/accounts.ts";
import type { Config, GatewaySchema } from "../src/config.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { POSTERN_CLI } from "./helpers/postern-cli.ts";
import { readmeBlock } from "./helpers/readme.ts";

const CWD = "/srv/site";

// The wsgi route's keys as its contract gives them, until the route itself is registered.
const WSGI_KEYS: GatewaySchema = {
  fields: {
    app: { type: "string", required: true, doc: "" },
    workers: { type: "integer", default: 1, min: 1, doc: "" },
    threads: { type: "integer", default: 1, min: 1, doc: "" },
    timeout: { type: "duration", default: 30_000, min: 0, doc: "" },
    max_requests: { type: "integer", default: 0, min: 0, doc: "" },
    max_requests_jitter: { type: "integer", default: 0, min: 0, doc: "" },
    max_worker_memory: { type: "size", default: 0, min: 0, doc: "" },
    chdir: { type: "string", doc: "" },
    pythonpath: { type: "string[]", default: [], doc: "" },
    env: { type: "env", default: {}, doc: "" },
    pass_env: { type: "string[]", default: ["PATH"], doc: "" },
    python: { type: "string", default: "python3", doc: "" },
    ...PROCESS_USER_FIELDS,
  },
};
const SCHEMAS = { wsgi: WSGI_KEYS, ...gatewaySchemas };

function context(env: Record<string, string> = {}): WsgiContext {
  return { cwd: CWD, env, gateways: SCHEMAS };
}

function quick(args: string[], env: Record<string, string> = {}): Config {
  const command = wsgiCommand(args, context(env));
  if (command.mode !== "quick") throw new Error(`expected the quick mode, got ${command.mode}`);
  return command.config;
}

function route(args: string[], env: Record<string, string> = {}): Record<string, unknown> {
  const config = quick([...args, "myapp:app"], env);
  expect(config.routes).toHaveLength(1);
  expect(config.routes[0]!.path).toBe("/*");
  expect(config.routes[0]!.gateway).toBe("wsgi");
  return config.routes[0]!.options;
}

function usageError(args: string[], env: Record<string, string> = {}): string {
  try {
    wsgiCommand(args, context(env));
  } catch (err) {
    if (err instanceof WsgiUsageError) return err.message;
    throw err;
  }
  throw new Error("no usage error");
}

describe("defaults, as Gunicorn's", () => {
  test("one worker, 127.0.0.1:8000, the app imported from the working directory, no access log, loopback proxies", () => {
    const config = quick(["myapp:app"]);
    expect(config.listen).toEqual(["127.0.0.1:8000"]);
    expect(config.accessLog).toBe(false);
    expect(config.trustedProxies).toEqual(["127.0.0.1", "::1"]);
    expect(config.routes[0]!.options).toMatchObject({ app: "myapp:app", workers: 1, chdir: CWD });
  });
  test("PORT makes the default 0.0.0.0:$PORT", () => {
    expect(quick(["myapp:app"], { PORT: "5000" }).listen).toEqual(["0.0.0.0:5000"]);
  });
  test("-b wins over PORT", () => {
    expect(quick(["-b", "127.0.0.1:9000", "myapp:app"], { PORT: "5000" }).listen).toEqual(["127.0.0.1:9000"]);
  });
  test("WEB_CONCURRENCY is the default worker count, -w wins over it", () => {
    expect(route([], { WEB_CONCURRENCY: "3" }).workers).toBe(3);
    expect(route(["-w", "5"], { WEB_CONCURRENCY: "3" }).workers).toBe(5);
  });
  test("FORWARDED_ALLOW_IPS is the default of --forwarded-allow-ips", () => {
    expect(quick(["myapp:app"], { FORWARDED_ALLOW_IPS: "10.0.0.1, 10.0.0.2" }).trustedProxies).toEqual(["10.0.0.1", "10.0.0.2"]);
  });
  test("a wrong environment value names the variable", () => {
    expect(usageError(["myapp:app"], { WEB_CONCURRENCY: "many" })).toMatch(/^WEB_CONCURRENCY: expected an integer/);
    expect(usageError(["myapp:app"], { WEB_CONCURRENCY: "0" })).toMatch(/^WEB_CONCURRENCY: /);
    expect(usageError(["myapp:app"], { PORT: "http" })).toMatch(/^PORT: /);
  });
});

describe("each flag", () => {
  test.each([
    [["-w", "4"], { workers: 4 }],
    [["--workers", "4"], { workers: 4 }],
    [["--workers=4"], { workers: 4 }],
    [["-w4"], { workers: 4 }],
    [["--threads", "8"], { threads: 8 }],
    [["-t", "45"], { timeout: 45_000 }],
    [["--timeout", "0"], { timeout: 0 }],
    [["--timeout", "500ms"], { timeout: 500 }],
    [["--max-requests", "1000"], { max_requests: 1000 }],
    [["--max-requests-jitter", "50"], { max_requests_jitter: 50 }],
    [["--max-worker-memory", "512m"], { max_worker_memory: 512 * 1024 ** 2 }],
    [["--max-worker-memory", "1048576"], { max_worker_memory: 1024 ** 2 }],
    [["--chdir", "app"], { chdir: "/srv/site/app" }],
    [["--chdir", "/opt/app"], { chdir: "/opt/app" }],
    [["--pythonpath", "lib,vendor"], { pythonpath: ["/srv/site/lib", "/srv/site/vendor"] }],
    [["--pythonpath", "lib", "--pythonpath", "/opt/lib"], { pythonpath: ["/srv/site/lib", "/opt/lib"] }],
    [["--chdir", "/opt/app", "--pythonpath", "lib"], { chdir: "/opt/app", pythonpath: ["/opt/app/lib"] }],
    [["-e", "A=1", "--env", "B=x=y", "-eC="], { env: { A: "1", B: "x=y", C: "" } }],
    [["--pass-env", "DATABASE_URL,SECRET_KEY", "--pass-env", "HOME"], { pass_env: ["PATH", "DATABASE_URL", "SECRET_KEY", "HOME"] }],
    [["--python", "/usr/bin/python3"], { python: "/usr/bin/python3" }],
    [["--python", "venv/bin/python"], { python: "/srv/site/venv/bin/python" }],
    [["--python", "python3.11"], { python: "python3.11" }],
    [["-u", "root"], { user: "root" }],
    [["--user", "0"], { user: "0" }],
    [["-g", "nogroup"], { group: "nogroup" }],
    [["--group", "65534"], { group: "65534" }],
  ] as [string[], Record<string, unknown>][])("%j", (args, expected) => {
    expect(route(args)).toMatchObject(expected);
  });

  test.each([
    [["-b", "127.0.0.1:9000", "--bind", "[::1]:9001"], ["127.0.0.1:9000", "[::1]:9001"]],
    [["-b", "localhost"], ["localhost:8000"]],
    [["-b", "[::1]"], ["[::1]:8000"]],
    [["-b", "tcp://127.0.0.1:9000"], ["127.0.0.1:9000"]],
    [["-b", "unix:/run/app.sock"], ["unix:/run/app.sock"]],
    [["-b", "unix://run/app.sock"], ["unix:/srv/site/run/app.sock"]],
    [["-b", "unix:app.sock"], ["unix:/srv/site/app.sock"]],
  ])("-b %j listens on %j", (args, listen) => {
    expect(quick([...args, "myapp:app"]).listen).toEqual(listen);
  });

  test("--graceful-timeout is the top-level graceful_timeout, in seconds", () => {
    expect(quick(["--graceful-timeout", "5", "myapp:app"]).gracefulTimeout).toBe(5000);
  });
  test("--forwarded-allow-ips sets trusted_proxies; * trusts every address", () => {
    expect(quick(["--forwarded-allow-ips", "10.0.0.0/8,192.168.1.1", "myapp:app"]).trustedProxies).toEqual(["10.0.0.0/8", "192.168.1.1"]);
    expect(quick(["--forwarded-allow-ips", "*", "myapp:app"]).trustedProxies).toEqual(["0.0.0.0/0", "::/0"]);
  });
  test("--access-logfile - turns the access log on (stdout)", () => {
    expect(quick(["--access-logfile", "-", "myapp:app"]).accessLog).toBe(true);
  });
  test("Gunicorn's request limits and keep-alive are [client]'s", () => {
    const config = quick(["--limit-request-line", "2048", "--limit-request-fields", "50", "--limit-request-field_size", "4096", "--keep-alive", "2", "myapp:app"]);
    expect(config.client).toMatchObject({ maxRequestLine: 2048, maxHeaders: 50, maxHeaderSize: 4096, keepaliveTimeout: 2000 });
  });
  test("-- ends the options", () => {
    expect(route(["-w", "2", "--"]).workers).toBe(2);
    expect(usageError(["--", "-w", "2"])).toMatch(/found "-w", "2"/);
  });
});

describe("-c is a postern.toml", () => {
  test("-c names the file to serve", () => {
    expect(wsgiCommand(["-c", "postern.toml"], context())).toEqual({ mode: "file", file: "postern.toml" });
    expect(wsgiCommand(["--config=site.toml", "-b", "127.0.0.1:9000"], context())).toEqual({ mode: "file", file: "site.toml", listen: ["127.0.0.1:9000"] });
  });
  test("with -c, a route flag or an app is an error naming it", () => {
    expect(usageError(["-c", "postern.toml", "-w", "4"])).toMatch(/^-w: with -c, postern.toml says it/);
    expect(usageError(["-c", "postern.toml", "myapp:app"])).toMatch(/names the app/);
  });
});

describe("usage errors name the flag as typed", () => {
  test.each([
    [["myapp:app", "-w", "four"], /^-w: expected an integer, found "four"/],
    [["myapp:app", "--workers=0"], /^--workers: /],
    [["myapp:app", "--threads", "0"], /^--threads: /],
    [["myapp:app", "-t", "soon"], /^-t: /],
    [["myapp:app", "--graceful-timeout", "never"], /^--graceful-timeout: /],
    [["myapp:app", "--max-worker-memory", "lots"], /^--max-worker-memory: /],
    [["myapp:app", "-b", "nowhere:port"], /^-b: /],
    [["myapp:app", "--bind", "fd://3"], /^--bind: postern opens its own sockets/],
    [["myapp:app", "-e", "NOVALUE"], /^-e: expected KEY=VALUE/],
    [["myapp:app", "--forwarded-allow-ips", "not-an-ip"], /^--forwarded-allow-ips: /],
    [["myapp:app", "--access-logfile", "/var/log/access.log"], /^--access-logfile: postern writes its access log to stdout/],
    [["myapp:app", "--limit-request-line", "x"], /^--limit-request-line: /],
    [["myapp:app", "-w"], /^-w needs a value/],
    [["myapp:app", "--wokers", "2"], /^unknown option --wokers; did you mean "--workers"\?/],
    [["myapp:app", "-x"], /^unknown option -x/],
    [["myapp:app", "--worker-class", "gevent"], /^--worker-class: a Gunicorn setting postern wsgi does not take/],
    [["myapp:app", "--preload"], /^--preload: a Gunicorn setting/],
    [[], /needs one app, MODULE:APP \(found none\)/],
    [["a:app", "b:app"], /needs one app, MODULE:APP \(found "a:app", "b:app"\)/],
  ] as [string[], RegExp][])("%j", (args, message) => {
    expect(usageError(args)).toMatch(message);
  });

  test("an unknown user names -u", () => {
    const accounts = { users: new Map([["root", { uid: 0, gid: 0 }]]), groups: new Map([["root", 0]]) };
    const error = () => wsgiCommand(["-u", "nosuchuser", "myapp:app"], { ...context(), accounts });
    expect(error).toThrow(WsgiUsageError);
    expect(error).toThrow(/^-u: /);
  });
});

test("--help and -h ask for the usage", () => {
  expect(wsgiCommand(["--help"], context())).toEqual({ mode: "help" });
  expect(wsgiCommand(["-w", "2", "-h"], context())).toEqual({ mode: "help" });
});

/** Each setting of the installed Gunicorn (gunicorn/config.py) and its flags, or undefined without Gunicorn. */
function gunicornSettings(): { name: string; flags: string[] }[] | undefined {
  const python = requireBinary(["python3"], "python3");
  if (!python) return undefined;
  const listed = spawnSync(python, ["-c", "import gunicorn.config as c\nfor s in c.KNOWN_SETTINGS:\n  print(s.name, *(s.cli or []))"], { encoding: "utf8" });
  expect(listed.status, listed.stderr).toBe(0);
  return listed.stdout.trim().split("\n").map((line) => {
    const [name, ...flags] = line.split(" ");
    return { name: name!, flags };
  });
}

test("every flag of the installed Gunicorn is taken, or refused as a Gunicorn setting", () => {
  const flags = gunicornSettings()?.flatMap((setting) => setting.flags);
  if (!flags) return;
  expect(flags).toContain("--max-requests-jitter");
  for (const flag of flags) {
    if (REFUSED_GUNICORN_FLAGS.includes(flag)) expect(usageError([flag, "x", "myapp:app"]), flag).toMatch(/a Gunicorn setting postern wsgi does not take/);
    else expect(() => wsgiCommand([flag, "1", "myapp:app"], context()), flag).not.toThrow(/unknown option/);
  }
});

test("the README's table of Gunicorn settings has every setting of the installed Gunicorn", () => {
  const readme = readFileSync(join(import.meta.dirname, "../README.md"), "utf8");
  const start = readme.indexOf("## Gunicorn settings in postern");
  const table = readme.slice(start, readme.indexOf("\n## ", start + 1));
  for (const { name } of gunicornSettings() ?? []) expect(table, name).toContain(`\`${name}\``);
});

describe("the command", () => {
  const postern = (args: string[]) => {
    const [file, ...before] = POSTERN_CLI.node;
    return spawnSync(file!, [...before, "wsgi", ...args], { encoding: "utf8", timeout: 20_000 });
  };
  test("a wrong option: exit status 2 and the README's message, before anything starts", () => {
    const { status, stderr } = postern(["--wokers", "2", "myapp:app"]);
    expect(status).toBe(2);
    expect(stderr.split("\n")[0]).toBe(readmeBlock("", "--wokers").trim());
  });
  test("--help lists every option it takes", () => {
    const { status, stdout } = postern(["--help"]);
    expect(status).toBe(0);
    for (const flag of WSGI_FLAGS) expect(stdout).toContain(flag);
  });
});
