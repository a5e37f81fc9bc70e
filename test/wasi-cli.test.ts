// `postern wasi FILE.wasm --listen ADDR`, the WASI quick mode, as a user
// runs it (bin/postern.js): one module answering every path, the module
// path taken from the current directory, a missing module refused before
// anything listens, and a graceful stop on SIGTERM.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { freePort } from "./helpers/ports.ts";

const REPO = join(import.meta.dirname, "..");
const BIN = join(REPO, "bin/postern.js");
const PROBE = join(REPO, "examples/wasi/probe.wasm");

/** Set in this test's process, so in postern's: the module must not see it. */
const SECRET = { name: "POSTERN_TEST_SECRET", value: "must-not-reach-modules" };

interface Served {
  proc: ChildProcess;
  url: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

const running: Served[] = [];

afterEach(async () => {
  for (const served of running.splice(0)) await stop(served);
});

/** Starts `postern ...args` in `cwd` and waits for its "listening on" line. */
async function serve(args: string[], cwd = REPO): Promise<Served> {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, [SECRET.name]: SECRET.value },
  });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const served: Served = { proc, url: "", stderr: () => err, exit };
  running.push(served);
  const deadline = Date.now() + 30_000;
  while (!/listening on (http:\/\/\S+)/.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`postern did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  served.url = /listening on (http:\/\/\S+?)\/?\n/.exec(out)![1]!;
  return served;
}

async function stop(served: Served): Promise<number | null> {
  if (served.proc.exitCode === null && served.proc.signalCode === null) served.proc.kill("SIGTERM");
  return served.exit;
}

describe("postern wasi FILE.wasm", () => {
  test("serves the module at every path: PATH_INFO is the whole path, argv the script name alone", async () => {
    const port = await freePort();
    const served = await serve(["wasi", PROBE, "--listen", `127.0.0.1:${port}`]);
    expect(served.url).toBe(`http://127.0.0.1:${port}`);

    const res = await fetch(`${served.url}/env?-s`, { signal: AbortSignal.timeout(20_000) });
    const text = await res.text();
    expect(res.status, text.slice(0, 200)).toBe(200);
    const lines = text.split("\n");
    expect(lines).toContain("env:PATH_INFO=/env");
    expect(lines).toContain("env:QUERY_STRING=-s");
    expect(lines).toContain("env:GATEWAY_INTERFACE=CGI/1.1");
    expect(lines.filter((l) => l.startsWith("argv["))).toEqual(["argv[0]=/"]);
    expect(text).not.toContain(SECRET.name);
    expect(text).not.toContain(SECRET.value);

    const cookies = await fetch(`${served.url}/cookies`);
    expect(cookies.status).toBe(201);
    expect(cookies.headers.getSetCookie()).toEqual(["a=1", "b=2", "c=3"]);
    await cookies.arrayBuffer();

    const echoed = await fetch(`${served.url}/echo`, { method: "POST", body: "through the quick mode" });
    expect(await echoed.text()).toBe("through the quick mode");

    // SIGTERM: a graceful stop.
    expect(await stop(served)).toBe(0);
  });

  test("a relative module path is taken from the current directory", async () => {
    const port = await freePort();
    const served = await serve(["wasi", "wasi/hello.wasm", "--listen", `127.0.0.1:${port}`], join(REPO, "examples"));
    const res = await fetch(`${served.url}/anything`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("Hello, world!\n");
  });

  test("a module that does not exist: exit 2 before listening, the path in the message", () => {
    const missing = join(REPO, "examples/wasi/no-such-module.wasm");
    const { status, stderr, stdout } = spawnSync(process.execPath, [BIN, "wasi", missing, "--listen", "127.0.0.1:0"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(stdout).not.toMatch(/listening on/);
    expect(status, stderr).toBe(2);
    expect(stderr).toContain(`routes[0].module: ${JSON.stringify(missing)} does not exist`);
  });

  test("no module, or two: a usage error", () => {
    for (const args of [["wasi"], ["wasi", PROBE, PROBE]]) {
      const { status, stderr } = spawnSync(process.execPath, [BIN, ...args, "--listen", "127.0.0.1:0"], { encoding: "utf8", timeout: 30_000 });
      expect(status, args.join(" ")).toBe(2);
      expect(stderr).toContain("wasi needs one module");
    }
  });
});
