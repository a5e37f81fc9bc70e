// The command line's idioms, as nginx, Caddy and Gunicorn users expect them:
// every command answers --help with its own usage; a mistyped flag or
// command gets a did-you-mean, not the whole usage; a quick mode's wrong
// value is named by the flag the user typed; -c/--config, -b/--bind,
// --graceful-timeout and --pid; exit status 2 for a usage or config error.

import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { freePort } from "./helpers/ports.ts";
import { runPostern, startPostern, stopPostern, type Served } from "./helpers/postern-cli.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

let dir: string;
let served: Served | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-cli-flags-"));
  mkdirSync(join(dir, "www"));
  writeFileSync(join(dir, "www/hello.txt"), "hello\n");
  // Prints its head, then runs far longer than any graceful timeout here.
  writeFileSync(join(dir, "www/slow.cgi"), `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nstarted\\n'\nexec sleep 20\n`, { mode: 0o755 });
  giveToScriptUser(dir);
});
afterEach(async () => {
  await stopPostern(served);
  served = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("--help", () => {
  test.each(["serve", "check", "fastcgi", "cgi", "wasi", "wagi", "wsgi"])("postern %s --help and -h print that command's usage, exit 0", (command) => {
    for (const flag of ["--help", "-h"]) {
      const { status, stdout, stderr } = runPostern([command, flag]);
      expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
      expect(stdout).toMatch(new RegExp(`^postern ${command}: `));
      expect(stdout).toContain(`postern ${command} `);
    }
  });

  test("each serving command's usage names the flags every one takes", () => {
    for (const command of ["serve", "fastcgi", "cgi", "wasi", "wagi"]) {
      const { stdout } = runPostern([command, "--help"]);
      for (const flag of ["--bind", "--listen", "--graceful-timeout", "--pid"]) expect({ command, has: stdout.includes(flag) }).toEqual({ command, has: true });
    }
    expect(runPostern(["cgi", "--help"]).stdout).toMatch(/-e, --env KEY=VALUE/);
    expect(runPostern(["fastcgi", "--help"]).stdout).toContain("--front-controller");
  });
});

describe("mistakes", () => {
  test("an unknown flag: exit 2, a did-you-mean, not the whole usage", () => {
    const { status, stderr } = runPostern(["fastcgi", "--bakend", "127.0.0.1:9000", "--root", dir]);
    expect(status).toBe(2);
    expect(stderr).toBe('postern: unknown option --bakend; did you mean "--backend"?\n(postern fastcgi --help lists its options)\n');
  });

  test("an unknown command: exit 2, a did-you-mean", () => {
    const { status, stderr } = runPostern(["serv"]);
    expect(status).toBe(2);
    expect(stderr).toContain('unknown command "serv"; did you mean "serve"?');
    expect(stderr).not.toContain("Usage:");
  });

  test.each([
    [["fastcgi", "--backend", "nonsense", "--root", "."], '--backend: not an address: "nonsense"'],
    [["fastcgi", "--backend", "127.0.0.1:9000", "--root", ".", "--front-controller", "index.php"], "--front-controller: "],
    [["cgi", ".", "--index", "a/b"], '--index: "a/b": entries are file names'],
    [["cgi", ".", "-b", "nope"], '-b: not an address: "nope"'],
    [["cgi", ".", "--bind=nope"], '--bind: not an address: "nope"'],
    [["cgi", ".", "-e", "NOEQUALS"], '-e: expected KEY=VALUE, found "NOEQUALS"'],
    [["wasi", "x.wasm", "--graceful-timeout", "soon"], '--graceful-timeout: expected a duration (seconds as a number, or a string such as "500ms"'],
    [["serve", "-c", "postern.toml", "--graceful-timeout", "0"], "--graceful-timeout: must be at least 1 ms"],
  ])("postern %j: exit 2, the flag typed named, no config line", (args, message) => {
    const { status, stderr } = runPostern(args);
    expect(status).toBe(2);
    expect(stderr.startsWith(`postern: ${message}`), stderr).toBe(true);
    expect(stderr).not.toMatch(/command line|routes\[/);
  });

  test.each([
    [["cgi", "MISSING", "-b", "127.0.0.1:0"], 'DIR: "MISSING" does not exist'],
    [["fastcgi", "--root", "MISSING", "--backend", "127.0.0.1:9", "-b", "127.0.0.1:0"], '--root: "MISSING" does not exist'],
    [["wasi", "MISSING", "-b", "127.0.0.1:0"], 'FILE.wasm: "MISSING" does not exist'],
    [["wsgi", "--chdir", "MISSING", "app:app", "-b", "127.0.0.1:0"], '--chdir: "MISSING" does not exist'],
    [["wsgi", "--python", "no-such-python", "app:app", "-b", "127.0.0.1:0"], '--python: "no-such-python" not found on PATH'],
  ])("postern %j, a route that cannot be set up: exit 2, once, named by what the user typed", (args, message) => {
    const missing = join(dir, "missing");
    const { status, stderr } = runPostern(args.map((arg) => arg.replace("MISSING", missing)));
    expect(status).toBe(2);
    expect(stderr).toBe(`postern: ${message.replace("MISSING", missing)}\n`);
  });

  test("a flag's value missing: exit 2, the flag named", () => {
    const { status, stderr } = runPostern(["cgi", ".", "--pid"]);
    expect(status).toBe(2);
    expect(stderr).toContain("postern: --pid needs a value");
  });

  // nginx users type `nginx -c FILE` and `nginx -t`: the command postern needs first is named, not "unknown command".
  test.each([
    [["-c", "site.toml"], "options come after a command: postern serve -c site.toml"],
    [["--bind", "127.0.0.1:9000"], "options come after a command: postern serve --bind 127.0.0.1:9000"],
    [["-t"], "a config is checked by postern check"],
    [["-t", "-c", "site.toml"], "a config is checked by postern check"],
    [["--verison"], 'unknown option --verison; did you mean "--version"?'],
  ])("postern %j names the command to use, exit 2", (args, message) => {
    const { status, stderr } = runPostern(args);
    expect(status).toBe(2);
    expect(stderr).toContain(`postern: ${message}`);
  });

  test("a config error is exit 2", () => {
    const file = join(dir, "bad.toml");
    writeFileSync(file, `[[routes]]\ngateway = "static"\nroot = "."\nmax_age = "forever"\n`);
    const { status, stderr } = runPostern(["serve", "-c", file]);
    expect(status).toBe(2);
    expect(stderr).toContain(`${file}:4: routes[0].max_age:`);
  });
});

describe("serving flags", () => {
  test("serve -c FILE -b ADDR serves FILE on ADDR, not on the file's listen", async () => {
    const file = join(dir, "static.toml");
    const port = await freePort();
    writeFileSync(file, `listen = "127.0.0.1:1"\naccess_log = false\n[[routes]]\ngateway = "static"\nroot = "www"\n`);
    served = await startPostern(["serve", "-c", file, "-b", `127.0.0.1:${port}`]);
    expect(served.url).toBe(`http://127.0.0.1:${port}`);
    expect(await (await fetch(`${served.url}/hello.txt`)).text()).toBe("hello\n");
  });

  test.each(["node", "deno", "bun"] as const)("on %s, --pid FILE holds the process id once it listens, and is removed at exit", async (runtime) => {
    const pidFile = join(dir, `postern-${runtime}.pid`);
    served = await startPostern(["cgi", join(dir, "www"), "-b", "127.0.0.1:0", "--pid", pidFile], { runtime });
    expect(readFileSync(pidFile, "utf8")).toBe(`${served.proc.pid}\n`);
    served.proc.kill("SIGTERM");
    expect(await served.exit).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
  });

  // postern runs as root: a symlink planted where the pid file goes (a shared
  // /run or /tmp) must not make it truncate the file the link points to. The
  // link is replaced, as Gunicorn's pid file (written aside, then renamed) does.
  test("--pid at a symlink replaces the link, leaving the file it points to as it was", async () => {
    const target = join(dir, "precious.txt");
    writeFileSync(target, "keep me\n");
    const pidFile = join(dir, "linked.pid");
    symlinkSync(target, pidFile);
    served = await startPostern(["cgi", join(dir, "www"), "-b", "127.0.0.1:0", "--pid", pidFile]);
    expect(readFileSync(target, "utf8")).toBe("keep me\n");
    expect(lstatSync(pidFile).isSymbolicLink()).toBe(false);
    expect(readFileSync(pidFile, "utf8")).toBe(`${served.proc.pid}\n`);
    served.proc.kill("SIGTERM");
    expect(await served.exit).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
    expect(readFileSync(target, "utf8")).toBe("keep me\n");
  });

  test("--pid at a stale file of another process replaces it, as nginx does", async () => {
    const pidFile = join(dir, "stale.pid");
    writeFileSync(pidFile, "1\n");
    served = await startPostern(["cgi", join(dir, "www"), "-b", "127.0.0.1:0", "--pid", pidFile]);
    expect(readFileSync(pidFile, "utf8")).toBe(`${served.proc.pid}\n`);
  });

  test("--pid with no file is a usage error, before anything starts", () => {
    const { status, stderr } = runPostern(["cgi", join(dir, "www"), "-b", "127.0.0.1:0", "--pid="]);
    expect(status).toBe(2);
    expect(stderr).toContain('postern: --pid: expected a file path, found ""');
  });

  test("--pid in a directory that does not exist: exit 1, saying so", () => {
    const { status, stderr } = runPostern(["cgi", join(dir, "www"), "-b", "127.0.0.1:0", "--pid", join(dir, "missing/postern.pid")]);
    expect(status).toBe(1);
    expect(stderr).toContain(`postern: --pid ${join(dir, "missing/postern.pid")}: cannot write it: no such directory ${join(dir, "missing")}`);
  });

  test("--graceful-timeout bounds the wait for requests in flight on SIGTERM", async () => {
    served = await startPostern(["cgi", join(dir, "www"), "-b", "127.0.0.1:0", "--graceful-timeout", "0.5"]);
    const response = await fetch(`${served.url}/slow.cgi`);
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("started\n");
    served.proc.kill("SIGTERM");
    expect(await served.exit).toBe(1);
    expect(served.stderr()).toContain("requests still in flight after 500 ms (graceful_timeout)");
    await reader.cancel().catch(() => undefined);
  });
});
