// --access-log and --error-log, on every command that serves: where the
// request lines and the errors go ("-", "off", a file taken from the working
// directory), the file opened anew on SIGUSR1 after logrotate renamed it,
// over what the config says; a wrong value named by its flag.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { runPostern, startPostern, stopPostern, type Served } from "./helpers/postern-cli.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

let dir: string;
let served: Served | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-cli-logs-"));
  mkdirSync(join(dir, "www"));
  mkdirSync(join(dir, "logs"));
  writeFileSync(join(dir, "www/hello.txt"), "hello\n");
  writeFileSync(join(dir, "www/fail.cgi"), "#!/bin/sh\necho 'fail.cgi: out of cheese' >&2\nexit 1\n", { mode: 0o755 });
  giveToScriptUser(dir);
});
afterEach(async () => {
  await stopPostern(served);
  served = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");

async function until(what: string, done: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 10_000; !done(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > deadline) throw new Error(`no ${what} within 10 s`);
  }
}

test("--access-log and --error-log FILE, relative to the working directory; SIGUSR1 opens them anew", async () => {
  served = await startPostern(["cgi", "www", "-b", "127.0.0.1:0", "--access-log", "logs/access.log", "--error-log", "logs/error.log"], { cwd: dir });
  const access = join(dir, "logs/access.log");
  const errors = join(dir, "logs/error.log");
  expect(await (await fetch(`${served.url}/hello.txt`)).text()).toBe("hello\n");
  await until("access line", () => read(access).includes('"GET /hello.txt HTTP/1.1" 200'));
  expect(served.stdout()).not.toContain("GET /hello.txt");
  expect((await fetch(`${served.url}/fail.cgi`)).status).toBe(502);
  await until("error line", () => read(errors).includes("out of cheese"));
  expect(served.stderr()).not.toContain("out of cheese");

  renameSync(access, `${access}.1`);
  served.proc.kill("SIGUSR1");
  await until("a new access.log", () => existsSync(access));
  await fetch(`${served.url}/hello.txt?after`);
  await until("access line after the rotation", () => read(access).includes("GET /hello.txt?after"));
  expect(read(`${access}.1`)).not.toContain("?after");
});

test("--access-log off: no request line; over a config's access_log", async () => {
  const config = join(dir, "static.toml");
  writeFileSync(config, `access_log = "-"\n[[routes]]\ngateway = "static"\nroot = "www"\n`);
  served = await startPostern(["serve", "-c", config, "-b", "127.0.0.1:0", "--access-log", "off"]);
  await fetch(`${served.url}/hello.txt`);
  await fetch(`${served.url}/hello.txt?second`);
  await new Promise((r) => setTimeout(r, 300));
  expect(served.stdout()).not.toContain("GET /hello.txt");
});

test.each([
  [["--error-log", "off"], "--error-log: errors cannot be turned off"],
  [["--access-log", ""], '--access-log: expected "-" (stdout), "off" or a file path, found ""'],
])("%j: exit 2, the flag named", (flags, message) => {
  const { status, stderr } = runPostern(["cgi", join(dir, "www"), "-b", "127.0.0.1:0", ...flags]);
  expect(status).toBe(2);
  expect(stderr).toContain(`postern: ${message}`);
});

test("a log file that cannot be opened: exit 2, named by its flag, not by the config's key", () => {
  const config = join(dir, "logged.toml");
  writeFileSync(config, `[[routes]]\ngateway = "static"\nroot = "www"\n`);
  for (const [flag, args] of [["--access-log", ["cgi", join(dir, "www")]], ["--error-log", ["serve", "-c", config]]] as const) {
    const file = join(dir, "missing", "postern.log");
    const { status, stderr } = runPostern([...args, "-b", "127.0.0.1:0", flag, file]);
    expect(status).toBe(2);
    expect(stderr).toContain(`postern: ${flag}: cannot open ${JSON.stringify(file)}: a directory on its path does not exist (ENOENT)\n`);
    expect(stderr).not.toMatch(/_log:/);
  }
});
