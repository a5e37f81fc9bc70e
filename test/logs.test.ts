// access_log and error_log as a user meets them, through the postern command
// line on Node, Deno and Bun (whose file writing differs: node:fs, Deno.open,
// Bun's node:fs): lines land in the file a config names, "-" is stdout, "off"
// nothing; logrotate's rename + SIGUSR1 moves the lines to a new file and loses
// none, and where no new file can be opened the old one goes on; a backend's
// failure reaches error_log; a file that cannot be opened
// stops the start; a log that takes no more (a pipe nobody reads) neither
// holds requests nor grows without bound.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { POSTERN_CLI, type CliRuntime } from "./helpers/postern-cli.ts";
import { freePort } from "./helpers/ports.ts";
import { stopProcessGroup } from "./helpers/server-process.ts";

const RUNTIMES: CliRuntime[] = ["node", "deno", "bun"];
/** Deno compiles the sources on its first start, on a busy machine too. */
const START_TIMEOUT_MS = 60_000;

interface Postern {
  proc: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
}

/** Until `check` holds, or fails with `what` after 20 s. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");
const lines = (text: string) => text.split("\n").filter(Boolean);

describe.each(RUNTIMES)("log destinations on %s", (runtime) => {
  let dir: string;
  let running: Postern | undefined;
  /** A port nothing listens on: the fastcgi route's backend, refused. */
  let deadPort: number;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-logs-"));
    mkdirSync(join(dir, "pub/php"), { recursive: true });
    mkdirSync(join(dir, "logs"));
    writeFileSync(join(dir, "pub/a.txt"), "a\n");
    writeFileSync(join(dir, "pub/php/x.php"), "<?php echo 1;\n");
    deadPort = await freePort();
  });
  afterEach(async () => {
    if (running) await stopProcessGroup(running.proc, "SIGTERM");
    running = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** postern.toml in `dir` with these top-level lines; run from "/" so that a relative path can only be the config's. */
  function config(top: string): string {
    const file = join(dir, "postern.toml");
    writeFileSync(
      file,
      `listen = "127.0.0.1:0"\n${top}\n` +
        `[[routes]]\npath = "/php/*"\ngateway = "fastcgi"\nbackend = "127.0.0.1:${deadPort}"\nroot = "pub"\n` +
        `[[routes]]\npath = "*"\ngateway = "static"\nroot = "pub"\n`,
    );
    return file;
  }

  function start(file: string): { proc: ChildProcess; exit: Promise<number | null>; stdout(): string; stderr(): string } {
    const [bin, ...before] = POSTERN_CLI[runtime];
    const proc = spawn(bin!, [...before, "serve", "--config", file], { cwd: "/", stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    let err = "";
    proc.stdout!.on("data", (d) => (out += d));
    proc.stderr!.on("data", (d) => (err += d));
    const exit = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    return { proc, exit, stdout: () => out, stderr: () => err };
  }

  async function serve(top: string): Promise<Postern> {
    const started = start(config(top));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!/listening on http:\/\/\S+\//.test(started.stdout())) {
      if (started.proc.exitCode !== null || Date.now() > deadline) {
        await stopProcessGroup(started.proc, "SIGKILL");
        throw new Error(`postern on ${runtime} did not start: ${started.stderr()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const url = /listening on (http:\/\/\S+?)\/\n/.exec(started.stdout())![1]!;
    running = { proc: started.proc, url, stdout: started.stdout, stderr: started.stderr };
    return running;
  }

  async function get(postern: Postern, path: string): Promise<number> {
    const response = await fetch(`${postern.url}${path}`);
    await response.arrayBuffer();
    return response.status;
  }

  test("access lines land in the file, named from the config's directory, created rw-r-----; none on stdout", async () => {
    const postern = await serve('access_log = "logs/access.log"');
    expect(await get(postern, "/a.txt?n=1")).toBe(200);
    expect(await get(postern, "/a.txt?n=2")).toBe(200);
    const path = join(dir, "logs/access.log");
    await until("two access lines", () => lines(read(path)).length === 2);
    expect(lines(read(path))[1]).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/a\.txt\?n=2 HTTP\/1\.1" 200 2 "-" "[^"]*"$/);
    // rw-r----- less the umask, which may only take bits away.
    expect(statSync(path).mode & 0o7777 & ~0o640).toBe(0);
    expect(postern.stdout()).not.toContain("GET /a.txt");
  });

  test.each(runtime === "node" ? ["-", "off", true, false] : ["-", "off"])("access_log = %j", async (value) => {
    const postern = await serve(`access_log = ${JSON.stringify(value)}`);
    expect(await get(postern, "/a.txt?marker")).toBe(200);
    if (value === "-" || value === true) {
      await until("the access line on stdout", () => postern.stdout().includes('"GET /a.txt?marker HTTP/1.1" 200'));
    } else {
      // A request after it, and its answer, leave time for a line that would have been written.
      expect(await get(postern, "/a.txt?after")).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
      expect(postern.stdout()).not.toContain("GET /a.txt");
      expect(postern.stderr()).not.toContain("GET /a.txt");
    }
  });

  test("a backend's failure is a line in error_log, after its time and level, with its client and request line, and not on stderr", async () => {
    const postern = await serve('access_log = "off"\nerror_log = "logs/error.log"');
    expect(await get(postern, "/php/x.php")).toBe(502);
    const path = join(dir, "logs/error.log");
    await until("the error line", () => read(path).includes(`127.0.0.1:${deadPort}`));
    // nginx's error line: the time (UTC) and level, the route, the detail, then the client and the request line.
    expect(lines(read(path))[0]).toMatch(
      new RegExp(`^\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d \\[error\\] routes\\[0\\] \\(fastcgi /php/\\*\\): .*127\\.0\\.0\\.1:${deadPort}.*, client: 127\\.0\\.0\\.1, request: "GET /php/x\\.php HTTP/1\\.1"$`),
    );
    expect(postern.stderr()).not.toContain(`127.0.0.1:${deadPort}`);
  });

  test("rename + SIGUSR1: the lines of before stay in the renamed files, the ones after go to new files, none is lost", async () => {
    const postern = await serve('access_log = "logs/access.log"\nerror_log = "logs/error.log"');
    const access = join(dir, "logs/access.log");
    const errors = join(dir, "logs/error.log");
    const batch = (name: string) => Array.from({ length: 20 }, (_, i) => `/a.txt?${name}=${i}`);
    for (const path of batch("before")) expect(await get(postern, path)).toBe(200);
    expect(await get(postern, "/php/x.php?before")).toBe(502);
    await until("the lines of before", () => lines(read(access)).length === 21 && read(errors).includes(`127.0.0.1:${deadPort}`));
    renameSync(access, `${access}.1`);
    renameSync(errors, `${errors}.1`);
    process.kill(postern.proc.pid!, "SIGUSR1");
    // Requests while postern reopens: their lines may land in either file, but in one of them once.
    const during = batch("during");
    const answers = Promise.all(during.map((path) => get(postern, path)));
    await until("the new files", () => existsSync(access) && existsSync(errors));
    expect(await answers).toEqual(during.map(() => 200));
    for (const path of batch("after")) expect(await get(postern, path)).toBe(200);
    expect(await get(postern, "/php/x.php?after")).toBe(502);
    await until("the lines of after", () => read(access).includes("after=19") && read(errors).includes(`127.0.0.1:${deadPort}`));
    await until("every line", () => lines(read(access)).length + lines(read(`${access}.1`)).length === 62);

    const target = (line: string) => /"GET (\S+) HTTP/.exec(line)![1]!;
    const old = lines(read(`${access}.1`)).map(target);
    const fresh = lines(read(access)).map(target);
    expect(old.filter((t) => t.includes("before"))).toHaveLength(21);
    expect(fresh.filter((t) => t.includes("before"))).toEqual([]);
    expect(fresh.filter((t) => t.includes("after"))).toHaveLength(21);
    expect(old.filter((t) => t.includes("after"))).toEqual([]);
    expect([...old, ...fresh].filter((t) => t.includes("during")).sort()).toEqual([...during].sort());
    expect(lines(read(`${errors}.1`))).toHaveLength(1);
    expect(lines(read(errors))).toHaveLength(1);
  });

  test("SIGUSR1 where the path cannot be opened again: said on the error log, and the lines go on to the file open before", async () => {
    const postern = await serve('access_log = "logs/access.log"');
    expect(await get(postern, "/a.txt?before")).toBe(200);
    renameSync(join(dir, "logs"), join(dir, "logs.old"));
    process.kill(postern.proc.pid!, "SIGUSR1");
    await until("the complaint", () => postern.stderr().includes(`access_log: cannot reopen ${JSON.stringify(join(dir, "logs/access.log"))}: a directory on its path does not exist (ENOENT); still writing to the file opened before`));
    expect(await get(postern, "/a.txt?after")).toBe(200);
    await until("the line of after", () => read(join(dir, "logs.old/access.log")).includes("?after"));
    expect(lines(read(join(dir, "logs.old/access.log")))).toHaveLength(2);
  });

  test("a log nobody reads (a full pipe) holds no request; past its bound lines are dropped and counted in error_log", async () => {
    const fifo = join(dir, "logs/access.pipe");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    // A reader that reads nothing: postern's writes fill the pipe, then wait.
    const holder = spawn("sh", ["-c", 'exec 3<"$0"; exec sleep 600', fifo], { stdio: "ignore" });
    try {
      const postern = await serve('access_log = "logs/access.pipe"\nerror_log = "logs/error.log"');
      // Lines of some 2 KiB: 800 of them are more than the pipe (64 KiB) and the queue (1 Mi characters) hold.
      const long = "x".repeat(2000);
      const requests = 800;
      for (let i = 0; i < requests; i++) expect(await get(postern, `/${long}?i=${i}`)).toBe(404);
      const drained = join(dir, "drained.log");
      // The reader has the pipe open before the holder goes: never a moment without one (EPIPE).
      const reader = spawn("sh", ["-c", 'exec 3<"$0"; : > "$1.ready"; exec cat <&3 > "$1"', fifo, drained], { stdio: "ignore" });
      const readerExit = new Promise((resolve) => reader.once("exit", resolve));
      await until("the reader", () => existsSync(`${drained}.ready`));
      holder.kill("SIGKILL");
      const errors = join(dir, "logs/error.log");
      await until("the count of dropped lines", () => /access_log: \d+ lines dropped/.test(read(errors)));
      const dropped = Number(/access_log: (\d+) lines dropped/.exec(read(errors))![1]);
      await until("every line kept", () => lines(read(drained)).length + dropped === requests);
      expect(dropped).toBeGreaterThan(0);
      // What waited: the queue's 1 Mi characters and what the pipe held, not every line.
      expect(read(drained).length).toBeLessThan(1.5 * 1024 * 1024);
      await stopProcessGroup(postern.proc, "SIGTERM");
      await readerExit;
    } finally {
      holder.kill("SIGKILL");
    }
  });

  test.each([
    ["access_log", "nowhere/access.log", /a directory on its path does not exist \(ENOENT\)/],
    ["error_log", "logs", /it is a directory \(EISDIR\)/],
  ])("%s = %j that cannot be opened stops the start with status 2, naming the key and the path", async (key, value, why) => {
    const started = start(config(`${key} = ${JSON.stringify(value)}`));
    expect(await started.exit).toBe(2);
    expect(started.stderr()).toMatch(new RegExp(`^postern: .*\\.toml:2: ${key}: cannot open ${JSON.stringify(join(dir, value))}: `, "m"));
    expect(started.stderr()).toMatch(why);
    expect(started.stdout()).not.toContain("listening");
  });
});
