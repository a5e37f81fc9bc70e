// The postern command line as a user runs it: check, serve with a config,
// the fastcgi and cgi quick modes, a spawned php-cgi that is restarted when it
// dies, a graceful stop on SIGTERM, and the demo.

import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { freePort } from "./helpers/ports.ts";
import { runPostern as run, startPostern as serve, stopPostern as stop, type Served } from "./helpers/postern-cli.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

const ROOT = join(import.meta.dirname, "fixtures/php");
const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const PHP_CGI = requireBinary(["php-cgi"], "php-cgi");

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe("postern CLI", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "postern-cli-"));
    // The quick cgi mode's scripts run as nobody when the tests run as root.
    giveToScriptUser(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("--version prints the package version", () => {
    const { status, stdout } = run(["--version"]);
    expect(status).toBe(0);
    expect(stdout.trim()).toBe(`postern ${JSON.parse(readFileSync(join(import.meta.dirname, "../package.json"), "utf8")).version}`);
  });

  test("--help prints the usage", () => {
    const { status, stdout } = run(["--help"]);
    expect(status).toBe(0);
    expect(stdout).toContain("postern serve [-c postern.toml]");
  });

  test("unknown command -> exit 2, the command named", () => {
    const { status, stderr } = run(["frobnicate"]);
    expect(status).toBe(2);
    expect(stderr).toContain('unknown command "frobnicate"');
  });

  test("check: a valid config", () => {
    const file = join(dir, "ok.toml");
    writeFileSync(file, `[[routes]]\ngateway = "static"\nroot = "."\n`);
    const { status, stdout } = run(["check", "--config", file]);
    expect(status).toBe(0);
    expect(stdout).toContain("ok (1 route)");
  });

  test("check: a wrong key names the key and the line", () => {
    const file = join(dir, "bad.toml");
    writeFileSync(file, `listen = "127.0.0.1:8080"\n\n[[routes]]\ngateway = "fastcgi"\nbackend = "127.0.0.1:9000"\nroot = "/srv"\nmax_conn = 4\n`);
    const { status, stderr } = run(["check", "--config", file]);
    expect(status).toBe(2);
    expect(stderr).toContain(`${file}:7: routes[0].max_conn: unknown key`);
    expect(stderr).toContain('did you mean "max_conns"?');
  });

  test("check: a missing file", () => {
    const { status, stderr } = run(["check", "--config", join(dir, "absent.toml")]);
    expect(status).toBe(2);
    expect(stderr).toContain(`cannot read ${join(dir, "absent.toml")}: no such file or directory`);
    const noDir = run(["serve", "--config", join(dir, "absent/postern.toml")]);
    expect(noDir.status).toBe(2);
    expect(noDir.stderr).toContain(`cannot read ${join(dir, "absent/postern.toml")}: no such directory ${join(dir, "absent")}`);
    const isDir = run(["serve", "--config", dir]);
    expect(isDir.stderr).toContain(`cannot read ${dir}: a directory is there`);
  });

  test("check: an empty spawn command names the key", () => {
    const file = join(dir, "empty-spawn.toml");
    writeFileSync(file, `[[routes]]\ngateway = "fastcgi"\nroot = "."\nspawn = { command = [] }\n`);
    const { status, stderr } = run(["check", "--config", file]);
    expect(status).toBe(2);
    expect(stderr).toContain(`${file}:4: routes[0].spawn.command: needs the program to run`);
  });

  test("serve: a spawn command that does not exist stops startup", () => {
    const file = join(dir, "missing-spawn.toml");
    writeFileSync(file, `listen = "127.0.0.1:0"\n[[routes]]\ngateway = "fastcgi"\nroot = "."\nspawn = { command = ["no-such-php-cgi"] }\n`);
    const { status, stderr } = run(["serve", "--config", file]);
    expect(status).toBe(2);
    expect(stderr).toContain('spawn.command: "no-such-php-cgi" not found');
  });

  test("serve: a root that does not exist stops startup", () => {
    const file = join(dir, "noroot.toml");
    writeFileSync(file, `listen = "127.0.0.1:0"\n[[routes]]\ngateway = "static"\nroot = "./nowhere"\n`);
    const { status, stderr } = run(["serve", "--config", file]);
    expect(status).toBe(2);
    expect(stderr).toMatch(/noroot\.toml:4: routes\[0\]\.root: ".*nowhere" does not exist/);
  });

  describe.skipIf(!PHP_FPM)("fastcgi quick mode", () => {
    let fpm: PhpFpm;
    let served: Served | undefined;
    beforeAll(async () => {
      fpm = await startPhpFpm(PHP_FPM!);
    });
    afterAll(async () => {
      await stop(served);
      await fpm?.stop();
    });

    test("postern fastcgi --backend --root --listen serves PHP", async () => {
      const port = await freePort();
      served = await serve(["fastcgi", "--backend", `unix:${fpm.socket}`, "--root", ROOT, "--listen", `127.0.0.1:${port}`]);
      expect(served.url).toBe(`http://127.0.0.1:${port}`);
      expect(await (await fetch(`${served.url}/hello.php`)).text()).toBe("Hello, world!\n");
      const logged = /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}(:\d\d){3} \+0000\] "GET \/hello.php HTTP\/1.1" 200 14 "-" "node"$/m;
      const deadline = Date.now() + 2000;
      while (!logged.test(served.stdout()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(served.stdout()).toMatch(logged);
    });

    test("SIGINT stops it too, with exit status 0", async () => {
    const port = await freePort();
    const other = await serve(["fastcgi", "--backend", `unix:${fpm.socket}`, "--root", ROOT, "--listen", `127.0.0.1:${port}`]);
    other.proc.kill("SIGINT");
    expect(await other.exit).toBe(0);
  });

  test("SIGHUP reloads the config without dropping the request in flight", async () => {
    const a = join(dir, "a");
    const b = join(dir, "b");
    // Like nginx's root, the whole URL path is looked up under the root.
    mkdirSync(join(a, "files"), { recursive: true });
    mkdirSync(join(b, "files"), { recursive: true });
    writeFileSync(join(a, "files/which.txt"), "a\n");
    writeFileSync(join(b, "files/which.txt"), "b\n");
    const file = join(dir, "reload.toml");
    const config = (root: string) =>
      `listen = "127.0.0.1:0"\naccess_log = false\n[[routes]]\npath = "/files/*"\ngateway = "static"\nroot = "${root}"\n[[routes]]\ngateway = "fastcgi"\nbackend = "unix:${fpm.socket}"\nroot = "${ROOT}"\n`;
    writeFileSync(file, config(a));
    const app = await serve(["serve", "--config", file]);
    try {
      expect(await (await fetch(`${app.url}/files/which.txt`)).text()).toBe("a\n");
      const slow = fetch(`${app.url}/sleep.php?ms=700`);
      await new Promise((r) => setTimeout(r, 200));
      writeFileSync(file, config(b));
      app.proc.kill("SIGHUP");
      const deadline = Date.now() + 5000;
      while (!app.stderr().includes("config reloaded") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await (await fetch(`${app.url}/files/which.txt`)).text()).toBe("b\n");
      const res = await slow;
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("slept\n");

      writeFileSync(file, config(b) + "bogus = 1\n");
      app.proc.kill("SIGHUP");
      while (!app.stderr().includes("the running config stays") && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 20));
      expect(app.stderr()).toContain("bogus");
      expect(await (await fetch(`${app.url}/files/which.txt`)).text()).toBe("b\n");
    } finally {
      await stop(app);
    }
  });

  test("SIGTERM finishes the request in flight, then exits 0", async () => {
      const slow = fetch(`${served!.url}/sleep.php?ms=700`);
      await new Promise((r) => setTimeout(r, 200));
      served!.proc.kill("SIGTERM");
      const res = await slow;
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("slept\n");
      expect(await served!.exit).toBe(0);
    });
  });

  describe.skipIf(!PHP_CGI)("spawned php-cgi", () => {
    let served: Served | undefined;
    afterAll(() => stop(served));

    test("serves PHP through php-cgi it starts, restarts it, stops it", async () => {
      const file = join(dir, "spawn.toml");
      writeFileSync(
        file,
        `listen = "127.0.0.1:0"\naccess_log = false\n[[routes]]\ngateway = "fastcgi"\nroot = "${ROOT}"\nspawn = { command = ["${PHP_CGI}"], procs = 2 }\n`,
      );
      served = await serve(["serve", "--config", file]);
      const env = (await (await fetch(`${served.url}/env.php?x=1`)).json()) as { server: Record<string, string> };
      expect(env.server.SCRIPT_NAME).toBe("/env.php");
      expect(env.server.QUERY_STRING).toBe("x=1");

      const before = childrenOf(served.proc.pid!);
      expect(before).toHaveLength(2);
      process.kill(before[0]!, "SIGKILL");
      const statuses = await Promise.all(Array.from({ length: 8 }, () => fetch(`${served!.url}/hello.php`).then((r) => r.status)));
      expect(statuses.every((s) => s === 200)).toBe(true);
      const deadline = Date.now() + 5000;
      while (childrenOf(served.proc.pid!).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const after = childrenOf(served.proc.pid!);
      expect(after).toHaveLength(2);
      expect(after).not.toContain(before[0]);

      served.proc.kill("SIGTERM");
      expect(await served.exit).toBe(0);
      for (const pid of after) expect(() => process.kill(pid, 0)).toThrow();
    });
  });
  describe("postern cgi DIR", () => {
    let served: Served | undefined;
    afterEach(() => stop(served));

    /** A cgi-bin: executables (one of them a .sh without #!), a .sh and a .pl that are not, a text file, a marker `reset-db.sh` would leave. */
    function cgiBin(name: string): { www: string; marker: string } {
      const www = join(dir, name);
      mkdirSync(www);
      const marker = join(dir, `${name}-reset-ran`);
      writeFileSync(join(www, "run.cgi"), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nexecutable %s %s\\n" "$PATH_INFO" "$QUERY_STRING"\n');
      writeFileSync(join(www, "bare.sh"), 'printf "Content-Type: text/plain\\n\\nexecutable, by sh\\n"\n');
      writeFileSync(join(www, "plain.sh"), 'printf "Content-Type: text/plain\\n\\nby sh\\n"\n');
      writeFileSync(join(www, "reset-db.sh"), `touch ${marker}\nprintf "Content-Type: text/plain\\n\\nreset\\n"\n`);
      writeFileSync(join(www, "hello.pl"), 'print "Content-Type: text/plain\\n\\nby perl\\n";\n');
      writeFileSync(join(www, "notes.txt"), "not a script\n");
      writeFileSync(join(www, "index.cgi"), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nindex\\n"\n');
      for (const file of ["run.cgi", "bare.sh", "index.cgi"]) chmodSync(join(www, file), 0o755);
      return { www, marker };
    }

    test("serves the directory's executables at /, a .sh by sh; a script without an execute bit is 403 and never runs; other files are sent", async () => {
      const { www, marker } = cgiBin("cgi-bin");
      const port = await freePort();
      served = await serve(["cgi", www, "--listen", `127.0.0.1:${port}`]);
      expect(served.url).toBe(`http://127.0.0.1:${port}`);
      expect(await (await fetch(`${served.url}/run.cgi/a/b?x=1`)).text()).toBe("executable /a/b x=1\n");
      expect(await (await fetch(`${served.url}/bare.sh`)).text()).toBe("executable, by sh\n");
      expect(await (await fetch(`${served.url}/`)).text()).toBe("index\n");
      for (const [file, source] of [["reset-db.sh", "touch"], ["plain.sh", "printf"], ["hello.pl", "print"]]) {
        const refused = await fetch(`${served.url}/${file}`);
        expect({ file, status: refused.status }).toEqual({ file, status: 403 });
        expect(await refused.text()).not.toContain(source);
      }
      expect(existsSync(marker)).toBe(false);
      expect(await (await fetch(`${served.url}/notes.txt`)).text()).toBe("not a script\n");
    });

    test("--run-all also runs files without an execute bit, by their extension's interpreter", async () => {
      const { www, marker } = cgiBin("cgi-bin-all");
      const port = await freePort();
      served = await serve(["cgi", www, "--run-all", "--listen", `127.0.0.1:${port}`]);
      expect(await (await fetch(`${served.url}/plain.sh`)).text()).toBe("by sh\n");
      expect(await (await fetch(`${served.url}/hello.pl`)).text()).toBe("by perl\n");
      expect(await (await fetch(`${served.url}/reset-db.sh`)).text()).toBe("reset\n");
      expect(existsSync(marker)).toBe(true);
      expect(await (await fetch(`${served.url}/notes.txt`)).text()).toBe("not a script\n");
    });

    test("--help names --run-all", () => {
      expect(run(["--help"]).stdout).toContain("--run-all");
    });

    test("cgi without a directory is a usage error", () => {
      const result = run(["cgi"]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain("cgi needs one directory");
    });
  });

  describe("the demo (npm start)", () => {
    let demo: ChildProcess | undefined;
    afterAll(async () => {
      if (!demo || demo.exitCode !== null) return;
      const exited = new Promise((resolve) => demo!.once("exit", resolve));
      demo.kill("SIGTERM");
      await exited;
    });

    test("its CGI scripts in sh, Perl and Python, its WSGI app, its WASI module and its Ruby script answer", async () => {
      const port = await freePort();
      const main = join(import.meta.dirname, "../examples/demo/main.ts");
      demo = spawn(process.execPath, ["--import", join(import.meta.dirname, "../runtimes/node/register.mjs"), main], {
        env: { ...process.env, LISTEN: `127.0.0.1:${port}` },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      demo.stdout!.on("data", (d) => (out += d));
      const deadline = Date.now() + 20_000;
      while (!out.includes("postern demo on") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const base = `http://127.0.0.1:${port}`;
      const hello = await (await fetch(`${base}/cgi-bin/hello.sh/extra?who=world`)).text();
      expect(hello).toContain("Hello, world, from a shell CGI script.");
      expect(hello).toContain("PATH_INFO=/extra");
      const form = await fetch(`${base}/cgi-bin/form.pl`, { method: "POST", body: new URLSearchParams({ name: "Ann <3" }) });
      expect(await form.text()).toContain("Hello, Ann &lt;3!");
      const clock = (await (await fetch(`${base}/cgi-bin/clock.py`)).json()) as { script: string };
      expect(clock.script).toBe("/cgi-bin/clock.py");
      const greeting = await (await fetch(`${base}/py/hello`, { method: "POST", body: new URLSearchParams({ name: "Ann <3" }) })).text();
      expect(greeting).toContain("<h1>Hello, Ann &lt;3!</h1>");
      expect(greeting).toContain("SCRIPT_NAME=/py PATH_INFO=/hello");
      const probe = await (await fetch(`${base}/wasi/env?from=demo`)).text();
      expect(probe).toContain("env:SCRIPT_NAME=/wasi\n");
      expect(probe).toContain("env:QUERY_STRING=from=demo\n");
      const ruby = await fetch(`${base}/ruby/hello.rb`, { method: "POST", body: new URLSearchParams({ name: "Ann <3" }) });
      expect(await ruby.text()).toContain("<h1>Hello, Ann &lt;3!</h1>");
    });
  });
});
