// `postern wsgi`'s Gunicorn flags read into a Config: every flag, the
// defaults Gunicorn takes from PORT, WEB_CONCURRENCY and FORWARDED_ALLOW_IPS,
// and usage errors that name the flag as the user typed it; every setting of
// the installed Gunicorn taken or refused and in the README's table; and the
// README's quick start and its postern.toml as the command serves them.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { REFUSED_GUNICORN_FLAGS, WSGI_FLAGS, wsgiCommand, WsgiUsageError, type WsgiContext } from "../gateways/wsgi/cli.ts";
import { parseConfig, type Config } from "../src/config.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { POSTERN_CLI } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { docSection, readmeBlock } from "./helpers/readme.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { stopProcessGroup, waitForPort } from "./helpers/server-process.ts";

const CWD = "/srv/site";


function context(env: Record<string, string> = {}): WsgiContext {
  return { cwd: CWD, env, gateways: gatewaySchemas };
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
    expect(config.accessLog).toBe("off");
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
    [["-w=4"], { workers: 4 }],
    [["--thr", "8"], { threads: 8 }],
    [["--max-requests-j=7"], { max_requests_jitter: 7 }],
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
    expect(quick(["--access-logfile", "-", "myapp:app"]).accessLog).toBe("-");
  });
  test("--access-logfile, --error-logfile and --log-file take a file from the working directory, as Gunicorn does", () => {
    expect(quick(["--access-logfile", "logs/access.log", "myapp:app"]).accessLog).toBe("/srv/site/logs/access.log");
    expect(quick(["--access-logfile", "/var/log/a.log", "myapp:app"]).accessLog).toBe("/var/log/a.log");
    expect(quick(["--error-logfile", "error.log", "myapp:app"]).errorLog).toBe("/srv/site/error.log");
    expect(quick(["--log-file", "-", "myapp:app"]).errorLog).toBe("-");
    expect(quick(["myapp:app"]).errorLog).toBe("-");
  });
  // As the installed Gunicorn does: it changes to --chdir before it binds, opens its logs and writes its pid file.
  test("with --chdir, wherever it is typed, relative -p, log files and unix: binds are taken from its directory", () => {
    const command = wsgiCommand(["-p", "app.pid", "--access-logfile", "a.log", "--log-file", "e.log", "-b", "unix:s.sock", "--chdir", "/opt/app", "myapp:app"], context());
    expect(command).toMatchObject({ mode: "quick", pidFile: "/opt/app/app.pid" });
    expect(command.mode === "quick" && command.config).toMatchObject({ accessLog: "/opt/app/a.log", errorLog: "/opt/app/e.log", listen: ["unix:/opt/app/s.sock"] });
    expect(quick(["--chdir", "app", "-p", "/run/app.pid", "--access-logfile", "-", "myapp:app"])).toMatchObject({ accessLog: "-" });
    expect(wsgiCommand(["--chdir", "app", "--pid", "app.pid", "myapp:app"], context())).toMatchObject({ pidFile: "/srv/site/app/app.pid" });
  });
  test("-p and --pid name the pid file, from the working directory; with -c too", () => {
    expect(wsgiCommand(["-p", "app.pid", "myapp:app"], context())).toMatchObject({ mode: "quick", pidFile: "/srv/site/app.pid" });
    expect(wsgiCommand(["--pid=/run/app.pid", "myapp:app"], context())).toMatchObject({ mode: "quick", pidFile: "/run/app.pid" });
    expect(wsgiCommand(["-c", "postern.toml", "-p", "app.pid"], context())).toEqual({ mode: "file", file: "postern.toml", pidFile: "/srv/site/app.pid" });
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
    [["myapp:app", "--access-logfile", ""], /^--access-logfile: expected "-" \(stdout\), "off" or a file path/],
    [["myapp:app", "--log-file="], /^--log-file: expected "-" \(stderr\) or a file path/],
    [["myapp:app", "-p"], /^-p needs a value/],
    [["myapp:app", "--pid="], /^--pid: expected a file path, found ""/],
    [["myapp:app", "--limit-request-line", "x"], /^--limit-request-line: /],
    [["myapp:app", "-w"], /^-w needs a value/],
    [["myapp:app", "--wokers", "2"], /^unknown option --wokers; did you mean "--workers"\?/],
    [["myapp:app", "-x"], /^unknown option -x/],
    [["myapp:app", "--max-req", "5"], /^ambiguous option --max-req: it could be --max-requests, --max-requests-jitter/],
    [["myapp:app", "--work", "5"], /^ambiguous option --work: it could be --workers, --worker-class/],
    [["myapp:app", "--worker-cl", "gevent"], /^--worker-class: a Gunicorn setting/],
    [["myapp:app", "--worker-class", "gevent"], /^--worker-class: a Gunicorn setting postern wsgi does not take/],
    [["myapp:app", "--preload"], /^--preload: a Gunicorn setting/],
    [[], /needs one app, MODULE:APP \(found none\)/],
    [["my-app.py"], /^MODULE:APP: must be "module:attr"/],
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
  if (listed.status !== 0 && listed.stderr.includes("No module named 'gunicorn'") && !process.env.CI) {
    console.warn("skipping: gunicorn not found: install it with `apt-get install -y gunicorn`");
    return undefined;
  }
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

test("the documentation's table of Gunicorn settings has every setting of the installed Gunicorn", () => {
  const table = docSection("docs/gateways/wsgi.md", "## Gunicorn settings in postern");
  for (const { name } of gunicornSettings() ?? []) expect(table, name).toContain(`\`${name}\``);
});

test("the README's postern.toml is the config of the Gunicorn command line beside it", () => {
  const shown = readmeBlock("sh", "gunicorn -w 4").split("\n").find((line) => line.startsWith("postern wsgi "))!;
  const command = wsgiCommand(shown.split(" ").slice(2), { ...context(), cwd: "/srv/myapp" });
  const file = parseConfig(readmeBlock("toml", 'app = "myapp:app"\nchdir = "/srv/myapp"'), "README.md", gatewaySchemas);
  const comparable = (config: Config) => ({ ...config, trustedProxiesLine: undefined, routes: config.routes.map(({ line: _, ...route }) => route) });
  expect(command.mode === "quick" && comparable(command.config)).toEqual(comparable(file));
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
  test("the README's quick start serves its hello app from the directory it is started in", async () => {
    const python = requireBinary(["python3"], "python3");
    if (!python) return;
    const block = readmeBlock("sh", "hello:application");
    const source = block.slice(block.indexOf("<<'PY'\n") + 6, block.indexOf("\nPY\n") + 1);
    const args = block.split("\n").find((line) => line.startsWith("postern wsgi "))!.split("#")[0]!.trim().split(" ").slice(2);
    expect(args).toEqual(["hello:application"]);
    const dir = mkdtempSync(join(tmpdir(), "postern-wsgi-hello-"));
    writeFileSync(join(dir, "hello.py"), source);
    giveToScriptUser(dir);
    const port = await freePort();
    const [file, ...before] = POSTERN_CLI.node;
    // Not on 127.0.0.1:8000, which may be taken, and with Debian's python3.
    const proc = spawn(file!, [...before, "wsgi", "-b", `127.0.0.1:${port}`, "--python", python, ...args], { cwd: dir, detached: true, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    proc.stderr!.on("data", (d) => (log += d));
    try {
      await waitForPort(proc, port, "postern wsgi", () => log, 30_000);
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(await response.text()).toBe("Hello, world\n");
    } finally {
      await stopProcessGroup(proc, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("--access-logfile, --error-logfile and -p, relative to the working directory: requests logged to the file, the app's stderr to the other, the pid file removed at exit", async () => {
    const python = requireBinary(["python3"], "python3");
    if (!python) return;
    const dir = mkdtempSync(join(tmpdir(), "postern-wsgi-logs-"));
    writeFileSync(join(dir, "app.py"), `import sys\ndef application(environ, start_response):\n    print("app says hi", file=sys.stderr, flush=True)\n    start_response("200 OK", [("Content-Type", "text/plain")])\n    return [b"ok\\n"]\n`);
    giveToScriptUser(dir);
    const port = await freePort();
    const [file, ...before] = POSTERN_CLI.node;
    const args = ["wsgi", "-b", `127.0.0.1:${port}`, "--python", python, "--access-logfile", "access.log", "--log-file", "error.log", "-p", "app.pid", "app:application"];
    const proc = spawn(file!, [...before, ...args], { cwd: dir, detached: true, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    proc.stderr!.on("data", (d) => (log += d));
    const exited = new Promise<number | null>((resolve) => proc.once("exit", resolve));
    try {
      await waitForPort(proc, port, "postern wsgi", () => log, 30_000);
      expect(readFileSync(join(dir, "app.pid"), "utf8")).toBe(`${proc.pid}\n`);
      expect(await (await fetch(`http://127.0.0.1:${port}/hello?x=1`)).text()).toBe("ok\n");
      proc.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(readFileSync(join(dir, "access.log"), "utf8")).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/hello\?x=1 HTTP\/1\.1" 200 /);
      expect(readFileSync(join(dir, "error.log"), "utf8")).toContain("app says hi");
      expect(log).not.toContain("app says hi");
      expect(existsSync(join(dir, "app.pid"))).toBe(false);
    } finally {
      await stopProcessGroup(proc, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("an app that cannot be imported: exit status 3, Gunicorn's boot error, named by MODULE:APP", () => {
    const python = requireBinary(["python3"], "python3");
    if (!python) return;
    const { status, stderr } = postern(["-b", "127.0.0.1:0", "--python", python, "--chdir", tmpdir(), "no_such_module_here:app"]);
    expect(stderr).toMatch(/^postern: MODULE:APP: "no_such_module_here:app" does not load/);
    expect(status).toBe(3);
  });

  test("an access log file that cannot be opened: exit status 2, naming --access-logfile", () => {
    const { status, stderr } = postern(["--access-logfile", "/nonexistent-dir/access.log", "myapp:app"]);
    expect(status).toBe(2);
    expect(stderr).toMatch(/^postern: --access-logfile: /m);
  });

  test("-c with a config that has no wsgi route: exit status 2, naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-wsgi-c-"));
    try {
      const file = join(dir, "postern.toml");
      writeFileSync(file, `[[routes]]\ngateway = "static"\nroot = "${dir}"\n`);
      const { status, stderr } = postern(["-c", file]);
      expect(status).toBe(2);
      expect(stderr).toContain(`${file} has no wsgi route (gateway = "wsgi"); postern serve --config ${file} serves it`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--help lists every option it takes", () => {
    const { status, stdout } = postern(["--help"]);
    expect(status).toBe(0);
    for (const flag of WSGI_FLAGS) expect(stdout).toContain(flag);
  });
});
