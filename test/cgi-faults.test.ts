// Faults of CGI scripts (RFC 3875) and of the clients in front of them, each
// mapped to the gateway's own answer (DESIGN.md, "HTTP answers of the gateway
// itself": malformed 502, too slow 504, overloaded 503, too large 413) and
// each followed by a normal request, so a fault never leaves the gateway
// unable to serve. Every case runs twice: scripts started by the native
// spawner (spawn_helper = true) and by the runtime's own spawn (false).
//
// The scripts are real processes (test/fixtures/cgi-faults/, copied into a
// private root and made executable there). Those that hang or leave children
// behind write their pids to files, so the test can check, through /proc,
// that whatever they started is gone afterwards.

import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { findBinary, requireBinary } from "./helpers/binaries.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { download, open } from "./helpers/slow-download.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { exchange } from "./helpers/raw-exchange.ts";
import { buildRequest, rawRequest } from "./helpers/raw-http.ts";
import { request, type Answer } from "./helpers/answer.ts";

// A loaded machine may take long to start the script: the client waits for the
// first byte rather than half-closing after 150 ms (which reads as a client gone).
const SLOW_START = { firstByteMs: 10_000, timeoutMs: 20_000 };

const KiB = 1024;
const MiB = 1024 * KiB;
const FIXTURES = fileURLToPath(new URL("./fixtures/cgi-faults", import.meta.url));

const CC = requireBinary(["cc"], "gcc");
// Missing everywhere: requireBinary says so, and fails under CI rather than skipping.
const PYTHON3 = findBinary(["python3"]) ?? pathPython3() ?? requireBinary(["python3"], "python3");

/**
 * The real python3 binary behind the one on PATH (not a version manager's
 * shim, which needs more of the environment than scripts get), where the
 * system has none that nobody (the scripts' user when the tests run as root)
 * may run.
 */
function pathPython3(): string | undefined {
  try {
    const path = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8", timeout: 10_000 }).trim();
    return path.startsWith("/") ? path : undefined;
  } catch {
    return undefined;
  }
}

let dir: string;
let root: string;
let bin: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-cgi-faults-"));
  root = join(dir, "www");
  bin = join(dir, "bin");
  for (const [from, to] of [
    [join(FIXTURES, "www"), root],
    [join(FIXTURES, "bin"), bin],
  ] as const) {
    mkdirSync(to);
    for (const name of readdirSync(from)) {
      copyFileSync(join(from, name), join(to, name));
      if (PYTHON3) {
        const text = readFileSync(join(to, name), "utf8");
        if (text.startsWith("#!@PYTHON3@")) writeFileSync(join(to, name), text.replace("@PYTHON3@", PYTHON3));
      }
      chmodSync(join(to, name), 0o755);
    }
  }
  // The interpreter test's script is data for its interpreter, not a program.
  chmodSync(join(root, "exit127.i127"), 0o644);
  giveToScriptUser(dir);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// Processes, through /proc (Linux).

interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
}

function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const [state, ppid, pgrp] = text.slice(close + 2).split(" ");
  return { pid, comm: text.slice(open + 1, close), state: state!, ppid: Number(ppid), pgrp: Number(pgrp) };
}

function allProcs(): ProcStat[] {
  const procs: ProcStat[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(Number(name));
    if (stat) procs.push(stat);
  }
  return procs;
}

/**
 * Whether `pid` still runs (kill -0). A zombie counts as gone: it has ended,
 * only its parent's wait is missing; a killed background child is re-parented
 * to init, which reaps it in its own time. Zombies of postern's own children
 * are checked separately, in the "no zombies" test.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
  return procStat(pid)?.state !== "Z";
}

/** Waits up to `ms` for a process group to have no live (not zombie) member; returns those left. */
async function groupLeft(pgrp: number, ms = 10_000): Promise<ProcStat[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = allProcs().filter((p) => p.pgrp === pgrp && p.state !== "Z");
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(50);
  }
}

/** Waits up to `ms` for every pid to be gone; returns those still alive. */
async function waitGone(pids: number[], ms = 10_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = pids.filter(alive);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(50);
  }
}

/** The CGI spawner: a child of this process (postern runs in it) named "spawner". */
function spawnerPid(): number | undefined {
  return allProcs().find((p) => p.ppid === process.pid && p.comm === "spawner" && p.state !== "Z")?.pid;
}

/** Bytes a process has written so far (/proc/PID/io, wchar). */
function bytesWritten(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, "latin1");
  return Number(/^wchar: (\d+)$/m.exec(io)![1]);
}

/** The most the kernel may buffer on one loopback TCP connection: receive plus send buffer limits. */
function kernelSocketBuffers(): number {
  const max = (file: string, fallback: number) => {
    try {
      return Number(readFileSync(file, "latin1").trim().split(/\s+/).at(-1)) || fallback;
    } catch {
      return fallback;
    }
  };
  return max("/proc/sys/net/ipv4/tcp_rmem", 6 * MiB) + max("/proc/sys/net/ipv4/tcp_wmem", 4 * MiB);
}

// ---------------------------------------------------------------------------
// Per-test state: a pid directory, the gateway, and whatever must be stopped.

let pidDir: string;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  pidDir = mkdtempSync(join(tmpdir(), "postern-cgi-pids-"));
  // Scripts (nobody, when the tests run as root) write their pids there.
  giveToScriptUser(pidDir);
});

afterEach(async () => {
  // Scripts a failed test left running must not outlive it (nor hold up the gateway's close).
  writeFileSync(join(pidDir, "release"), "");
  for (const pid of recordedPids()) {
    const stat = procStat(pid);
    if (!stat || stat.state === "Z" || !scriptCommands().has(stat.comm)) continue;
    for (const target of stat.pgrp === pid ? [-pid, pid] : [pid]) {
      try {
        process.kill(target, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  rmSync(pidDir, { recursive: true, force: true });
});

/** The command names (/proc/PID/comm, at most 15 bytes) the fixture scripts and what they start run as. */
function scriptCommands(): Set<string> {
  return new Set(["sh", "sleep", "perl", "python3", ...readdirSync(root)].map((name) => name.slice(0, 15)));
}

/** Every pid a script wrote to the pid directory. */
function recordedPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync(pidDir)) {
    if (!/\.(script|child)$/.test(name)) continue;
    const text = readFileSync(join(pidDir, name), "latin1");
    if (/^\d+\n$/.test(text)) pids.push(Number(text));
  }
  return pids;
}

/** The pid a script wrote to $PID_DIR/`name`, waiting for it to appear. */
async function readPid(name: string, ms = 10_000): Promise<number> {
  const path = join(pidDir, name);
  const deadline = Date.now() + ms;
  for (;;) {
    if (existsSync(path)) {
      const text = readFileSync(path, "latin1");
      if (/^\d+\n$/.test(text)) return Number(text);
    }
    if (Date.now() > deadline) throw new Error(`no pid in ${name} after ${ms} ms`);
    await sleep(20);
  }
}

type Options = Record<string, string | number | boolean>;

function toml(value: string | number | boolean): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

// ---------------------------------------------------------------------------
// HTTP helpers.

/** A gateway error page: the status, and nothing of the script in the body (DESIGN.md). */
function expectGatewayAnswer(answer: Answer, status: number): void {
  expect(answer.status).toBe(status);
  expect(answer.body).toMatch(new RegExp(`^${status} [A-Za-z ]+\\n$`));
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

// ---------------------------------------------------------------------------

// Without a C compiler the gateway falls back to the runtime's spawn: the first mode would test nothing new.
const MODES = [
  { mode: "native spawner", spawnHelper: true },
  { mode: "runtime spawn", spawnHelper: false },
].filter(({ spawnHelper }) => !spawnHelper || CC !== undefined);

describe.each(MODES)("CGI faults ($mode)", ({ spawnHelper }) => {
  /** postern with one cgi route over the fixture root; `options` are route keys. */
  async function start(options: Options = {}): Promise<RunningPostern> {
    const route: Options = {
      path: "/*",
      gateway: "cgi",
      root,
      timeout: "10s",
      kill_grace: "500ms",
      spawn_helper: spawnHelper,
      ...options,
    };
    const lines = ["[[routes]]", ...Object.entries(route).map(([k, v]) => `${k} = ${toml(v)}`)];
    lines.push(`env = { PID_DIR = ${toml(pidDir)} }`);
    lines.push(`interpreters = { ".i127" = ${toml(join(bin, "exit-127"))} }`);
    const postern = await startPostern(lines.join("\n") + "\n");
    cleanups.push(() => postern.stop());
    if (spawnHelper) {
      // The case is about the spawner: it must really be the one starting scripts.
      expect(postern.errors.filter((l) => /spawner|C compiler/.test(l))).toEqual([]);
      expect(spawnerPid(), "a running spawner").toBeDefined();
    }
    return postern;
  }

  /** The guard every fault test ends with: a normal script right after is served. */
  async function stillServes(p: RunningPostern): Promise<void> {
    const answer = await request(`${p.url}/ok.sh`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("ok");
  }

  describe("malformed output -> 502", () => {
    it("a head without the blank line (headers, then end of output) -> 502", async () => {
      const p = await start();
      expectGatewayAnswer(await request(`${p.url}/no-blank.sh`), 502);
      expect(p.errors.join("\n")).toMatch(/BACKEND_MALFORMED/);
      await stillServes(p);
    });

    it.each(["abc", "99"])("Status: %s -> 502", async (status) => {
      const p = await start();
      expectGatewayAnswer(await request(`${p.url}/status.sh?${status}`), 502);
      await stillServes(p);
    });

    it("a bare CR inside a header value -> 502, nothing of it reaches the client", async () => {
      const p = await start();
      const ex = await exchange(portOf(p.url), buildRequest("GET", "/cr-in-value.sh", [["Host", "x"], ["Connection", "close"]]), SLOW_START);
      expect(ex.answers).toHaveLength(1);
      expect(ex.answers[0]!.status).toBe(502);
      expect(ex.raw.toString("latin1")).not.toMatch(/evil/i);
      await stillServes(p);
    });

    it.skipIf(!PYTHON3)("an LF inside a header value ends the line: two well-formed fields, no split response", async () => {
      const p = await start();
      const ex = await exchange(portOf(p.url), buildRequest("GET", "/lf-in-value.py?lf", [["Host", "x"], ["Connection", "close"]]), SLOW_START);
      expect(ex.answers).toHaveLength(1);
      const answer = ex.answers[0]!;
      expect(answer.status).toBe(200);
      const field = (name: string) => answer.headers.filter(([n]) => n === name).map(([, v]) => v);
      expect(field("x-a")).toEqual(["a"]);
      expect(field("x-injected")).toEqual(["1"]);
      expect(answer.body.toString("latin1")).toBe("body");
      // On the wire every line of the head ends in CRLF: no bare CR or LF anywhere in it.
      const raw = ex.raw.toString("latin1");
      const head = raw.slice(0, raw.indexOf("\r\n\r\n"));
      expect(head.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
      await stillServes(p);
    });

    it.skipIf(!PYTHON3)("an LF followed by whitespace (a continuation line) -> 502", async () => {
      const p = await start();
      const ex = await exchange(portOf(p.url), buildRequest("GET", "/lf-in-value.py?fold", [["Host", "x"], ["Connection", "close"]]), SLOW_START);
      expect(ex.answers).toHaveLength(1);
      expect(ex.answers[0]!.status).toBe(502);
      expect(ex.raw.toString("latin1")).not.toMatch(/folded/);
      await stillServes(p);
    });

    it("100 KB of headers (max_response_header_size 64 KiB) -> 502", async () => {
      const p = await start();
      expectGatewayAnswer(await request(`${p.url}/big-head.pl`), 502);
      expect(p.errors.join("\n")).toMatch(/BACKEND_MALFORMED/);
      await stillServes(p);
    });
  });

  describe("scripts that fail to run", () => {
    it("exit status 3 before any output -> 502, the log gives the status", async () => {
      const p = await start();
      expectGatewayAnswer(await request(`${p.url}/exit3.sh`), 502);
      expect(p.errors.join("\n")).toMatch(/status 3\b/);
      await stillServes(p);
    });

    it("an executable without a #! line (ENOEXEC) -> 502, the log says why", async () => {
      const p = await start();
      const answer = await request(`${p.url}/no-shebang.cgi`);
      expect(answer.body, "the file was run by a shell instead").not.toContain("ran through a shell");
      expectGatewayAnswer(answer, 502);
      expect(p.errors.join("\n")).toMatch(/ENOEXEC|exec format|executable format/i);
      await stillServes(p);
    });

    it("a #! line naming a missing interpreter -> 502, the log says why", async () => {
      const p = await start();
      expectGatewayAnswer(await request(`${p.url}/missing-interpreter.cgi`), 502);
      expect(p.errors.join("\n")).toMatch(/ENOENT|status 127\b/);
      await stillServes(p);
    });

    it("an interpreter (interpreters.\".i127\") that exits 127 -> 502, the log gives the status", async () => {
      const p = await start();
      expectGatewayAnswer(await request(`${p.url}/exit127.i127`), 502);
      expect(p.errors.join("\n")).toMatch(/status 127\b/);
      await stillServes(p);
    });
  });

  describe("timeouts and process groups", () => {
    it("a script that never exits -> 504 after timeout; it, its background child and its group are killed", async () => {
      const p = await start({ timeout: "2s", kill_grace: "500ms" });
      const answer = request(`${p.url}/hang.sh?t`);
      const script = await readPid("t.script");
      const child = await readPid("t.child");
      expectGatewayAnswer(await answer, 504);
      expect(await waitGone([script, child])).toEqual([]);
      expect(await groupLeft(script)).toEqual([]);
      await stillServes(p);
    });

    it("a background child left holding stdout does not hold the response open, and is killed", async () => {
      // A timeout far beyond the test's wait: an answer cut by it would be an error, not "done".
      const p = await start({ timeout: "60s" });
      const answer = await request(`${p.url}/bg-child.sh?b`, { signal: AbortSignal.timeout(20_000) });
      expect(answer.status).toBe(200);
      expect(answer.body).toBe("done");
      const child = await readPid("b.child");
      expect(await waitGone([child])).toEqual([]);
      await stillServes(p);
    });

    it("a script ignoring SIGTERM gets SIGKILL once kill_grace has passed", async () => {
      const p = await start({ timeout: "1s", kill_grace: "3s" });
      const answer = request(`${p.url}/ignore-term.sh?i`);
      const script = await readPid("i.script");
      const child = await readPid("i.child");
      expectGatewayAnswer(await answer, 504);
      // SIGTERM has been sent by now, and ignored; SIGKILL waits for the grace period.
      await sleep(500);
      expect(alive(script), "the script, right after its SIGTERM").toBe(true);
      expect(alive(child), "its child, right after its SIGTERM").toBe(true);
      expect(await waitGone([script, child], 3_000 + 7_000)).toEqual([]);
      expect(await groupLeft(script)).toEqual([]);
      await stillServes(p);
    });
  });

  describe("clients that leave", () => {
    it("client abort mid-response -> the script and its child are killed", async () => {
      const p = await start({ timeout: "60s" });
      const { req, res } = await open(`${p.url}/head-then-hang.sh?a`);
      expect(res.statusCode).toBe(200);
      const first = await new Promise<Buffer>((resolve) => res.once("data", resolve));
      expect(first.toString()).toContain("first bytes");
      const script = await readPid("a.script");
      const child = await readPid("a.child");
      req.destroy();
      expect(await waitGone([script, child])).toEqual([]);
      expect(await groupLeft(script)).toEqual([]);
      await stillServes(p);
    });

    it("client abort before the script printed anything -> the script and its child are killed", async () => {
      const p = await start({ timeout: "60s" });
      const req = httpGet(`${p.url}/hang.sh?h`, { agent: false });
      req.on("error", () => undefined);
      const script = await readPid("h.script");
      const child = await readPid("h.child");
      req.destroy();
      expect(await waitGone([script, child])).toEqual([]);
      expect(await groupLeft(script)).toEqual([]);
      await stillServes(p);
    });

    it(
      "endless output to a slow client: RSS stays bounded, the script waits on backpressure, and dies with the connection",
      async () => {
        const p = await start({ timeout: "120s", response_buffer: "16m" });

        // Warm up: the first big answer settles the allocator and the JIT.
        expect(await download(`${p.url}/endless.pl?warm`, 64 * MiB)).toBeGreaterThanOrEqual(64 * MiB);
        expect(await waitGone([await readPid("warm.script")])).toEqual([]);

        const baseline = process.memoryUsage().rss;
        let peak = baseline;
        const sampler = setInterval(() => {
          peak = Math.max(peak, process.memoryUsage().rss);
        }, 20);
        let pause: { atPause: number; early: number; late: number } | undefined;
        let script = 0;
        try {
          const received = await download(`${p.url}/endless.pl?big`, 384 * MiB, 32 * MiB, async (atPause) => {
            script = await readPid("big.script");
            // The buffers on the way fill up, the kernel's socket buffers too (loopback TCP
            // grows them up to tcp_rmem/tcp_wmem): wait until the script's count stops moving.
            let last = bytesWritten(script);
            let still = Date.now();
            const deadline = Date.now() + 10_000;
            while (Date.now() - still < 500 && Date.now() < deadline) {
              await sleep(50);
              const now = bytesWritten(script);
              if (now !== last) [last, still] = [now, Date.now()];
            }
            const early = bytesWritten(script);
            await sleep(1_500);
            const late = bytesWritten(script);
            pause = { atPause, early, late };
          });
          expect(received).toBeGreaterThanOrEqual(384 * MiB);
        } finally {
          clearInterval(sampler);
        }
        peak = Math.max(peak, process.memoryUsage().rss);
        expect((peak - baseline) / MiB).toBeLessThan(64);
        const { atPause, early, late } = pause!;
        // While the client read nothing the script could write nothing more: it is blocked...
        expect(late - early, JSON.stringify(pause)).toBeLessThan(256 * KiB);
        // ...and it did not run ahead: what sits between it and the client is the kernel's
        // socket buffers, the answer read ahead (response_buffer) and a little more, nothing
        // that grows with the answer.
        expect((late - atPause) / MiB, JSON.stringify(pause)).toBeLessThan(kernelSocketBuffers() / MiB + 16 + 16);
        // The client is gone: so is the script.
        expect(await waitGone([script])).toEqual([]);
        await stillServes(p);
      },
      120_000,
    );
  });

  describe("concurrency limits", () => {
    it("max_procs = 2, max_queue = 1: a 4th request -> 503 with Retry-After; later requests succeed", async () => {
      const p = await start({ max_procs: 2, max_queue: 1, timeout: "60s" });
      const running = [request(`${p.url}/gate.sh?a`), request(`${p.url}/gate.sh?b`)];
      await readPid("a.script");
      await readPid("b.script");
      // Both slots taken: of two more requests, one waits in the queue and the other is refused.
      const more = [request(`${p.url}/gate.sh?c`), request(`${p.url}/gate.sh?d`)];
      const refused = await Promise.race(more);
      expectGatewayAnswer(refused, 503);
      expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
      writeFileSync(join(pidDir, "release"), "");
      const answers = await Promise.all([...running, ...more]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 503]);
      for (const a of answers.filter((a) => a.status === 200)) expect(a.body).toBe("released");
      // A slot is free again once its script's exit is noticed, which may come just after its answer.
      expect(await waitGone(recordedPids())).toEqual([]);
      for (let i = 0; i < 3; i++) await stillServes(p);
    });

    it("queue_timeout passed while waiting for a slot -> 503 with Retry-After", async () => {
      const p = await start({ max_procs: 1, max_queue: 4, queue_timeout: "500ms", timeout: "60s" });
      const running = request(`${p.url}/gate.sh?a`);
      await readPid("a.script");
      const waited = await request(`${p.url}/ok.sh`);
      expectGatewayAnswer(waited, 503);
      expect(waited.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(existsSync(join(pidDir, "a.script"))).toBe(true);
      writeFileSync(join(pidDir, "release"), "");
      const first = await running;
      expect(first.status).toBe(200);
      expect(first.body).toBe("released");
      await stillServes(p);
    });

    it(
      "no zombies after a burst of 200 requests (answers, failures, timeouts, background children)",
      async () => {
        // A deadline the other scripts never come near, even on a loaded machine
        // where the runtime's own spawn makes 50 at once slow.
        const p = await start({ timeout: "5s", kill_grace: "300ms" });
        const kinds = [
          { path: "ok.sh", status: 200 },
          { path: "exit3.sh", status: 502 },
          { path: "no-blank.sh", status: 502 },
          { path: "bg-child.sh", status: 200 },
          { path: "hang.sh", status: 504 },
        ];
        const total = 200;
        const statuses: { expected: number; got: number }[] = [];
        let next = 0;
        // 50 clients at a time, each taking the next request.
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            for (let i = next++; i < total; i = next++) {
              const kind = kinds[i % kinds.length]!;
              const answer = await request(`${p.url}/${kind.path}?r${i}`);
              statuses.push({ expected: kind.status, got: answer.status });
            }
          }),
        );
        expect(statuses).toHaveLength(total);
        expect(statuses.filter((s) => s.got !== s.expected)).toEqual([]);

        const spawner = spawnHelper ? spawnerPid() : undefined;
        if (spawnHelper) expect(spawner).toBeDefined();
        const parents = new Set([process.pid, ...(spawner ? [spawner] : [])]);
        const children = () => allProcs().filter((p) => parents.has(p.ppid) && p.pid !== spawner);
        const zombies = () => children().filter((p) => p.state === "Z");
        // An answer may leave before its script has died (a 504 is sent, then the group is
        // signalled): wait until every script has ended and been reaped, as its exit is
        // noticed; then not one may be left unreaped.
        const deadline = Date.now() + 10_000;
        while (children().length > 0 && Date.now() < deadline) await sleep(50);
        expect(zombies()).toEqual([]);
        // Nor anything still running that a script started.
        expect(await waitGone(recordedPids())).toEqual([]);
        if (spawner) expect(allProcs().filter((p) => p.ppid === spawner && p.state !== "Z")).toEqual([]);
        await stillServes(p);
      },
      120_000,
    );
  });

  describe("stderr", () => {
    it.each([
      ["default max_stderr (8 KiB)", {}, 8 * KiB],
      ["max_stderr = 1000", { max_stderr: 1000 }, 1000],
    ] as [string, Options, number][])(
      "1 MiB on stderr before a normal answer -> 200; the log keeps at most max_stderr bytes and names the script (%s)",
      async (_name, options, limit) => {
        const p = await start({ ...options, timeout: "20s" });
        const answer = await request(`${p.url}/stderr-flood.pl?s`);
        expect(answer.status).toBe(200);
        expect(answer.body).toBe("ok");
        // Not blocked on a full stderr pipe: it finishes.
        expect(await waitGone([await readPid("s.script")])).toEqual([]);
        await sleep(300); // the last stderr events travel separately from the answer
        const lines = p.errors.filter((l) => l.includes("stderr:"));
        expect(lines.length).toBeGreaterThan(0);
        for (const line of lines) expect(line).toContain("stderr-flood.pl");
        // What the script wrote, without the request it was for.
        const logged = lines.reduce((n, line) => n + (line.slice(line.indexOf("stderr:")).replace(/, client: .*$/, "").match(/E/g)?.length ?? 0), 0);
        expect(logged).toBeGreaterThan(0);
        expect(logged).toBeLessThanOrEqual(limit);
        await stillServes(p);
      },
    );
  });

  describe("request bodies", () => {
    it("Content-Length over max_body_size -> 413, the script never runs", async () => {
      const p = await start({ max_body_size: "1k" });
      const answer = await request(`${p.url}/body-len.sh?big`, { method: "POST", body: "a".repeat(4 * KiB) });
      expectGatewayAnswer(answer, 413);
      expect(existsSync(join(pidDir, "big.ran"))).toBe(false);
      // Under the limit it runs.
      const small = await request(`${p.url}/body-len.sh?small`, { method: "POST", body: "a".repeat(500) });
      expect(small).toMatchObject({ status: 200, body: "500 500" });
      await stillServes(p);
    });

    /** A chunked POST to body-len.sh of chunks of these sizes; the script leaves n<count>.ran when it runs. */
    const chunked = (sizes: number[]) =>
      buildRequest(
        "POST",
        `/body-len.sh?n${sizes.length}`,
        [["Host", "x"], ["Transfer-Encoding", "chunked"], ["Connection", "close"]],
        sizes.map((n) => `${n.toString(16)}\r\n${"a".repeat(n)}\r\n`).join("") + "0\r\n\r\n",
      );

    it.each([
      ["a chunked body (no length announced) over max_body_size", { max_body_size: "1k" }],
      ["without request_buffering, a chunked body over max_buffered_body", { max_buffered_body: "1k", request_buffering: false }],
    ] as [string, Options][])("%s -> 413, the script never runs", async (_name, options) => {
      const p = await start(options);
      const big = await rawRequest(portOf(p.url), chunked([1000, 1000, 1000, 1000]));
      expect(big.status).toBe(413);
      expect(existsSync(join(pidDir, "n4.ran"))).toBe(false);
      // Under the limit the whole body arrives, with its length as CONTENT_LENGTH (RFC 3875 §4.1.2).
      const small = await rawRequest(portOf(p.url), chunked([500]));
      expect(small.status).toBe(200);
      expect(small.body.toString()).toBe("500 500");
      await stillServes(p);
    });

    it.each(["exit", "linger"])(
      "a script that never reads its stdin while 8 MiB are posted still answers (%s)",
      async (variant) => {
        const p = await start({ timeout: "30s" });
        const answer = await request(`${p.url}/no-read.sh?${variant}`, { method: "POST", body: new Uint8Array(8 * MiB).fill(97) });
        expect(answer.status, `error log: ${p.errors.join("\n")}`).toBe(200);
        expect(answer.body).toBe("ignored");
        await stillServes(p);
      },
      60_000,
    );
  });
});
