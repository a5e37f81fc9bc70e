// `postern check` as a user runs it: what `postern serve` would refuse at
// startup, every problem at once, each as `file:line: routes[N].key: message`,
// exit status 2 (0 with warnings only); it binds nothing and leaves no
// process running (a wsgi app is imported once, by its interpreter); and
// serve, refusing the same config, says the same.

import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { checkConfig } from "../gateways/checks/config.ts";
import { gatewaySchemas } from "../gateways/index.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { parseConfig } from "../src/config.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { POSTERN_CLI, type CliRuntime } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

const REPO = join(import.meta.dirname, "..");
const HELLO_WASM = join(REPO, "examples/wasi/hello.wasm");
const PYTHON = requireBinary(["python3"], "python3");
const PERL = requireBinary(["perl"], "perl");
const PHP_CGI = requireBinary(["php-cgi"], "php-cgi");

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-check-"));
  mkdirSync(join(dir, "www"));
  mkdirSync(join(dir, "cgi-bin"));
  mkdirSync(join(dir, "py"));
  writeFileSync(join(dir, "www/index.html"), "hi\n");
  writeFileSync(join(dir, "a-file"), "not a directory\n");
  writeFileSync(join(dir, "not-executable"), "#!/bin/sh\n");
  chmodSync(join(dir, "not-executable"), 0o644);
  writeFileSync(join(dir, "text.wasm"), "#!/bin/sh\necho hi\n");
  copyFileSync(HELLO_WASM, join(dir, "hello.wasm"));
  writeFileSync(join(dir, "py/good.py"), "def application(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n");
  writeFileSync(join(dir, "py/broken.py"), "import helper\n");
  writeFileSync(join(dir, "py/helper.py"), "raise RuntimeError('the database is not configured')\n");
  // Imported, it says where it ran and starts a process that would outlive it.
  writeFileSync(
    join(dir, "py/spy.py"),
    [
      "import os, subprocess",
      "child = subprocess.Popen(['sleep', '60'])",
      "with open(os.path.join(os.path.dirname(__file__), 'imported'), 'w') as f:",
      "    f.write('%d %d' % (os.getpid(), child.pid))",
      "def application(environ, start_response):",
      "    start_response('200 OK', [])",
      "    return [b'ok']",
      "",
    ].join("\n"),
  );
  // Workers (and the import check) run as nobody when the tests run as root.
  giveToScriptUser(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function postern(args: string[], runtime: CliRuntime = "node") {
  const [file, ...before] = POSTERN_CLI[runtime];
  return spawnSync(file!, [...before, ...args], { encoding: "utf8", timeout: 60_000 });
}

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The problem lines of postern's stderr, `postern: FILE:LINE: ...` (not warnings, not check's closing count). */
function problemLines(stderr: string, file: string): string[] {
  const prefix = `postern: ${file}:`;
  return stderr.split("\n").filter((line) => line.startsWith(prefix) && /^\d+: /.test(line.slice(prefix.length)) && !line.includes(": warning: "));
}

/** An argument no process but one a config starts has. */
const MARKER = `postern_check_marker=${process.pid}`;

/** The command lines of the machine's processes. */
function commandLines(): string[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        return [readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")];
      } catch {
        return [];
      }
    });
}

/** Whether `pid` runs (a zombie nobody reaped yet does not). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

describe.skipIf(!PYTHON || !PERL || !PHP_CGI)("postern check", () => {
  test("a config serve can start: ok, exit 0, nothing else said", async () => {
    const file = writeConfig(
      "ok.toml",
      [
        `listen = ["127.0.0.1:${await freePort()}", "unix:${dir}/postern.sock"]`,
        "[[routes]]",
        'path = "/cgi-bin/*"',
        'gateway = "cgi"',
        'root = "cgi-bin"',
        `interpreters = { ".pl" = "perl", ".py" = "${PYTHON}" }`,
        "[[routes]]",
        'path = "/php/*"',
        'gateway = "fastcgi"',
        `root = "www"`,
        `spawn = { command = ["${PHP_CGI}", "-d", "${MARKER}"] }`,
        "[[routes]]",
        'path = "/hello"',
        'gateway = "wasi"',
        'module = "hello.wasm"',
        "[[routes]]",
        'path = "/py/*"',
        'gateway = "wsgi"',
        'app = "good"',
        'chdir = "py"',
        `python = "${PYTHON}"`,
        "[[routes]]",
        'path = "/uwsgi/*"',
        'gateway = "uwsgi"',
        'backend = "unix:/run/nothing-listens-here.sock"',
        "",
      ].join("\n"),
    );
    const { status, stdout, stderr } = postern(["check", "--config", file]);
    expect(stderr).toBe("");
    expect(stdout).toBe(`${file}: ok (5 routes)\n`);
    expect(status).toBe(0);
    // It bound nothing: the unix socket was not made; and it started no php-cgi.
    expect(existsSync(join(dir, "postern.sock"))).toBe(false);
    expect(commandLines().filter((line) => line.includes(MARKER))).toEqual([]);
  });

  test("every problem at once, each at its key's line, exit 2", () => {
    const file = writeConfig(
      "bad.toml",
      [
        /* 1 */ `listen = ["127.0.0.1:0", "unix:${dir}/no-such-dir/postern.sock", "unix:${dir}/a-file"]`,
        /* 2 */ "",
        /* 3 */ "[[routes]]",
        /* 4 */ 'path = "/cgi-bin/*"',
        /* 5 */ 'gateway = "cgi"',
        /* 6 */ 'root = "./nowhere"',
        /* 7 */ `interpreters = { ".pl" = "perl", ".zz" = "no-such-interpreter", ".x" = "${dir}/not-executable" }`,
        /* 8 */ "",
        /* 9 */ "[[routes]]",
        /* 10 */ 'path = "/php/*"',
        /* 11 */ 'gateway = "fastcgi"',
        /* 12 */ 'root = "a-file"',
        /* 13 */ 'spawn = { command = ["no-such-php-cgi"] }',
        /* 14 */ "",
        /* 15 */ "[[routes]]",
        /* 16 */ 'path = "/missing"',
        /* 17 */ 'gateway = "wasi"',
        /* 18 */ 'module = "missing.wasm"',
        /* 19 */ "",
        /* 20 */ "[[routes]]",
        /* 21 */ 'path = "/text"',
        /* 22 */ 'gateway = "wasi"',
        /* 23 */ 'module = "text.wasm"',
        /* 24 */ "",
        /* 25 */ "[[routes]]",
        /* 26 */ 'path = "/hello"',
        /* 27 */ 'gateway = "wasi"',
        /* 28 */ 'module = "hello.wasm"',
        /* 29 */ 'entrypoint = "serve"',
        /* 30 */ "",
        /* 31 */ "[[routes]]",
        /* 32 */ 'path = "/py/*"',
        /* 33 */ 'gateway = "wsgi"',
        /* 34 */ 'app = "broken:application"',
        /* 35 */ 'chdir = "py"',
        /* 36 */ `python = "${PYTHON}"`,
        /* 37 */ "",
        /* 38 */ "[[routes]]",
        /* 39 */ 'path = "/py2/*"',
        /* 40 */ 'gateway = "wsgi"',
        /* 41 */ 'app = "good"',
        /* 42 */ 'python = "no-such-python"',
        /* 43 */ 'chdir = "a-file"',
        /* 44 */ "",
        /* 45 */ "[[routes]]",
        /* 46 */ 'gateway = "static"',
        /* 47 */ 'root = "www/index.html"',
        "",
      ].join("\n"),
    );
    const { status, stdout, stderr } = postern(["check", "--config", file]);
    expect(stdout).toBe("");
    expect(problemLines(stderr, file)).toEqual([
      `postern: ${file}:1: listen: unix:${dir}/no-such-dir/postern.sock: the directory "${dir}/no-such-dir" does not exist`,
      `postern: ${file}:1: listen: unix:${dir}/a-file: a file that is not a socket is there`,
      `postern: ${file}:6: routes[0].root: "${dir}/nowhere" does not exist`,
      `postern: ${file}:7: routes[0].interpreters.".zz": "no-such-interpreter" not found on PATH`,
      `postern: ${file}:7: routes[0].interpreters.".x": "${dir}/not-executable" is not executable`,
      `postern: ${file}:12: routes[1].root: "${dir}/a-file" is not a directory`,
      `postern: ${file}:13: routes[1].spawn.command: "no-such-php-cgi" not found on PATH`,
      `postern: ${file}:18: routes[2].module: "${dir}/missing.wasm" does not exist`,
      expect.stringMatching(new RegExp(`^postern: ${file}:23: routes\\[3\\]\\.module: "${dir}/text\\.wasm": .*`)),
      `postern: ${file}:29: routes[4].entrypoint: the module exports no function "serve" (entrypoint)`,
      `postern: ${file}:34: routes[5].app: "broken:application" does not load (${PYTHON} exited with status 3):`,
      `postern: ${file}:42: routes[6].python: "no-such-python" not found on PATH`,
      `postern: ${file}:43: routes[6].chdir: "${dir}/a-file" is not a directory`,
      `postern: ${file}:47: routes[7].root: "${dir}/www/index.html" is not a directory`,
    ]);
    // The Python error, from the app's own frames.
    expect(stderr).toContain(`  File "${dir}/py/helper.py", line 1, in <module>`);
    expect(stderr).toContain("  RuntimeError: the database is not configured");
    expect(stderr).not.toContain("postern_wsgi.py");
    expect(stderr).toContain(`postern: ${file}: 14 problems: postern serve would not start\n`);
    expect(status).toBe(2);
  });

  test("log files: a directory that does not exist, a directory in the file's place; serve names the key's line too", () => {
    const file = writeConfig(
      "logs.toml",
      [`access_log = "no-such-dir/access.log"`, `error_log = "www"`, "[[routes]]", 'gateway = "static"', 'root = "www"', ""].join("\n"),
    );
    const checked = postern(["check", "--config", file]);
    expect(problemLines(checked.stderr, file)).toEqual([
      `postern: ${file}:1: access_log: "${dir}/no-such-dir/access.log": the directory "${dir}/no-such-dir" does not exist`,
      `postern: ${file}:2: error_log: "${dir}/www" is a directory`,
    ]);
    expect(checked.status).toBe(2);
    const served = postern(["serve", "--config", file, "--listen", "127.0.0.1:0"]);
    expect(served.stderr).toMatch(new RegExp(`^postern: ${file}:\\d: (access|error)_log: cannot open "${dir}/`, "m"));
    expect(served.status).toBe(2);
  });

  test("a static root a script route shares is a warning: exit 0", () => {
    const file = writeConfig(
      "warn.toml",
      ['[[routes]]', 'path = "/php/*"', 'gateway = "fastcgi"', 'backend = "127.0.0.1:9000"', 'root = "www"', "[[routes]]", 'gateway = "static"', 'root = "www"', ""].join("\n"),
    );
    const { status, stdout, stderr } = postern(["check", "--config", file]);
    expect(stderr).toMatch(new RegExp(`^postern: ${file}:6: warning: .*shares files with`));
    expect(stdout).toBe(`${file}: ok (2 routes)\n`);
    expect(status).toBe(0);
  });

  test("a wsgi app is imported once: no process is left, no port bound", async () => {
    const port = await freePort();
    // The listen port is taken: check, which binds nothing, does not mind.
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    try {
      const file = writeConfig(
        "spy.toml",
        [`listen = "127.0.0.1:${port}"`, "[[routes]]", 'path = "/py/*"', 'gateway = "wsgi"', 'app = "spy"', 'chdir = "py"', `python = "${PYTHON}"`, "workers = 4", ""].join("\n"),
      );
      const { status, stdout, stderr } = postern(["check", "--config", file]);
      expect(stderr).toBe("");
      expect(stdout).toBe(`${file}: ok (1 route)\n`);
      expect(status).toBe(0);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    // Imported once (not once per worker), and neither the interpreter nor
    // what the app started at import is still running.
    const [python, child] = readFileSync(join(dir, "py/imported"), "utf8").split(" ").map(Number);
    expect(alive(python!)).toBe(false);
    expect(alive(child!)).toBe(false);
  });

  test("serve refusing the same config says the same, and exits 2 before listening", () => {
    const file = writeConfig(
      "serve.toml",
      [
        'listen = "127.0.0.1:0"',
        "[[routes]]",
        'path = "/cgi-bin/*"',
        'gateway = "cgi"',
        'root = "nowhere"',
        'interpreters = { ".zz" = "no-such-interpreter" }',
        "[[routes]]",
        'gateway = "fastcgi"',
        'root = "www"',
        'spawn = { command = ["no-such-php-cgi"] }',
        "",
      ].join("\n"),
    );
    const checked = postern(["check", "--config", file]);
    const served = postern(["serve", "--config", file]);
    expect(served.stdout).not.toMatch(/listening on/);
    expect(served.status).toBe(2);
    expect(problemLines(checked.stderr, file)).toHaveLength(3);
    expect(problemLines(served.stderr, file)).toEqual(problemLines(checked.stderr, file));
  });
});

describe.skipIf(!PYTHON)("a wsgi app that does not import", () => {
  test("serve says what check says, traceback included, and exits 3 (Gunicorn's boot error)", () => {
    const file = writeConfig(
      "boot.toml",
      ['listen = "127.0.0.1:0"', "[[routes]]", 'path = "/py/*"', 'gateway = "wsgi"', 'app = "broken"', 'chdir = "py"', `python = "${PYTHON}"`, "workers = 2", ""].join("\n"),
    );
    const checked = postern(["check", "--config", file]);
    const served = postern(["serve", "--config", file]);
    const said = checked.stderr.slice(0, checked.stderr.indexOf(`postern: ${file}: 1 problem`));
    expect(said).toMatch(new RegExp(`^postern: ${file}:5: routes\\[0\\]\\.app: "broken" does not load \\(${PYTHON} exited with status 3\\):\n  Traceback`));
    expect(said).toContain("  RuntimeError: the database is not configured\n");
    expect(served.stderr).toBe(said);
    expect(served.stdout).not.toMatch(/listening on/);
    expect(checked.status).toBe(2);
    expect(served.status).toBe(3);
  });
});

describe("a quick mode that cannot start names what the user typed", () => {
  test.each([
    [["cgi", "nowhere"], "DIR"],
    [["fastcgi", "--backend", "127.0.0.1:9", "--root", "nowhere"], "--root"],
  ])("postern %j", (args, typed) => {
    const { status, stdout, stderr } = spawnSync(POSTERN_CLI.node[0]!, [...POSTERN_CLI.node.slice(1), ...args, "--listen", "127.0.0.1:0"], {
      encoding: "utf8",
      cwd: dir,
      timeout: 60_000,
    });
    expect(stdout).not.toMatch(/listening on/);
    expect(stderr).toBe(`postern: ${typed}: "${dir}/nowhere" does not exist\n`);
    expect(status).toBe(2);
  });
});

test.skipIf(!PYTHON)("postern wsgi MODULE:APP whose app does not import: named as typed, exit 3", () => {
  const [file, ...before] = POSTERN_CLI.node;
  const { status, stdout, stderr } = spawnSync(file!, [...before, "wsgi", "--python", PYTHON!, "--chdir", join(dir, "py"), "-b", "127.0.0.1:0", "broken"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(stdout).not.toMatch(/listening on/);
  expect(stderr.startsWith(`postern: MODULE:APP: "broken" does not load (${PYTHON} exited with status 3):\n  Traceback`), stderr).toBe(true);
  expect(status).toBe(3);
});

test("postern wagi modules.toml: a module that does not exist, at its [[module]]'s key", () => {
  const file = writeConfig("modules.toml", '[[module]]\nroute = "/hello"\nmodule = "hello.wasm"\n\n[[module]]\nroute = "/..."\nmodule = "missing.wasm"\n');
  const [bin, ...before] = POSTERN_CLI.node;
  const { status, stdout, stderr } = spawnSync(bin!, [...before, "wagi", file, "--listen", "127.0.0.1:0"], { encoding: "utf8", timeout: 60_000 });
  expect(stdout).not.toMatch(/listening on/);
  expect(stderr).toBe(`postern: ${file}:7: module[1].module: "${dir}/missing.wasm" does not exist\n`);
  expect(status).toBe(2);
});

describe.skipIf(!PYTHON)("on each runtime", () => {
  test.each(["node", "deno", "bun"] as const)("%s: the same problems, the same lines", (runtime) => {
    const file = writeConfig(
      `runtimes-${runtime}.toml`,
      [
        "[[routes]]",
        'path = "/cgi-bin/*"',
        'gateway = "cgi"',
        'root = "nowhere"',
        "[[routes]]",
        'path = "/py/*"',
        'gateway = "wsgi"',
        'app = "broken"',
        'chdir = "py"',
        `python = "${PYTHON}"`,
        "",
      ].join("\n"),
    );
    const { status, stderr } = postern(["check", "--config", file], runtime);
    expect(problemLines(stderr, file)).toEqual([
      `postern: ${file}:4: routes[0].root: "${dir}/nowhere" does not exist`,
      `postern: ${file}:8: routes[1].app: "broken" does not load (${PYTHON} exited with status 3):`,
    ]);
    expect(status).toBe(2);
  });
});

test("a module name given to registerWasmModules stands for a file", async () => {
  const runtime = { ...nodeRuntime, wasmModules: new Map([["hello", await WebAssembly.compile(readFileSync(HELLO_WASM))]]) };
  const text = '[[routes]]\npath = "/a"\ngateway = "wasi"\nmodule = "hello"\n[[routes]]\npath = "/b"\ngateway = "wasi"\nmodule = "other"\n';
  const problems = await checkConfig(parseConfig(text, "postern.toml", gatewaySchemas), runtime, dir);
  expect(problems.map(({ route, key, message }) => ({ route, key, message }))).toEqual([{ route: 1, key: ["module"], message: `"${dir}/other" does not exist` }]);
});
